/** Argument arrays of the processes a lab run starts (pure: unit-tested without running anything). */

/** Guest RAM in a shared backend: a memfd, or a file (in tmpfs) that outlives the QEMU. */
export type RamBackend = { kind: 'memfd' } | { kind: 'file'; path: string };

export interface QemuCommandLine {
  side: 'src' | 'dst';
  /** `-M` value; default `pc`. */
  machine?: string;
  /** Further `-M` properties (`aux-ram-share=on`). */
  machineProperties?: readonly string[];
  /** Firmware folder (`-L`) of a QEMU outside the system's prefix. */
  firmwareDir?: string;
  memoryMiB: number;
  /** Shared guest RAM (vhost-user, CPR); default QEMU's private anonymous memory. */
  ramBackend?: RamBackend;
  accelerators: readonly string[];
  kernel: string;
  append: string;
  qmpSocket: string;
  traceFile: string;
  traceEvents: readonly string[];
  /** Guest debug console output (port 0xe9). A chardev path: must not contain a comma. */
  debugconFile: string;
  /** vhost-user back-end socket (needs a shared ramBackend). */
  vhostUserSocket?: string;
  /**
   * The virtio-net device offers only the virtio 1.0 (modern) interface (`disable-legacy=on`):
   * libvhost-user back-ends such as tests/vhost-user-bridge refuse a legacy driver.
   */
  virtioModernOnly?: boolean;
  /** Further QMP monitors (QEMU serves one client per socket), e.g. one for the Connections view. */
  extraQmpSockets?: readonly string[];
  /** Destination only: start with `-incoming defer`. */
  incoming?: boolean;
  /** cpr-transfer destination: a second `-incoming`, the cpr channel on this unix socket. */
  cprChannelSocket?: string;
}

/** The id of the shared RAM backend object. */
export const ramBackendId = 'ram0';

/** Paths end up inside QEMU option strings (`key=value,key=value`), where a comma would split them. */
function chardevPath(what: string, p: string): string {
  if (p.includes(',')) throw new Error(`${what} path must not contain a comma: ${p}`);
  return p;
}

export function qemuArgs(c: QemuCommandLine): string[] {
  if (c.vhostUserSocket !== undefined && c.ramBackend === undefined) throw new Error('vhost-user needs shared guest RAM (ramBackend)');
  const machine = [c.machine ?? 'pc', ...(c.ramBackend ? [`memory-backend=${ramBackendId}`] : []), ...(c.machineProperties ?? [])];
  const args = [
    '-name', `qmig-lab-${c.side},debug-threads=on`,
    ...(c.firmwareDir !== undefined ? ['-L', c.firmwareDir] : []),
    '-M', machine.join(','),
    '-m', String(c.memoryMiB),
    '-display', 'none',
    '-nodefaults',
    '-no-user-config',
  ];
  for (const a of c.accelerators) args.push('-accel', a);
  args.push(
    '-kernel', c.kernel,
    '-append', c.append,
    '-debugcon', `file:${chardevPath('debugcon', c.debugconFile)}`,
    '-qmp', `unix:${chardevPath('QMP socket', c.qmpSocket)},server=on,wait=off`,
    ...(c.extraQmpSockets ?? []).flatMap((s) => ['-qmp', `unix:${chardevPath('QMP socket', s)},server=on,wait=off`]),
    '-D', c.traceFile,
    '-msg', 'timestamp=on',
  );
  // One option per pattern: QEMU 7.2 keeps only the last pattern of a single -trace option.
  for (const p of c.traceEvents) args.push('-trace', `enable=${p}`);
  if (c.ramBackend?.kind === 'memfd') {
    args.push('-object', `memory-backend-memfd,id=${ramBackendId},size=${c.memoryMiB}M,share=on`);
  } else if (c.ramBackend?.kind === 'file') {
    args.push('-object', `memory-backend-file,id=${ramBackendId},size=${c.memoryMiB}M,mem-path=${chardevPath('guest RAM file', c.ramBackend.path)},share=on`);
  }
  if (c.vhostUserSocket !== undefined) {
    // The back-end maps guest RAM: the shared backend above.
    args.push(
      '-chardev', `socket,id=c0,path=${chardevPath('vhost-user socket', c.vhostUserSocket)}`,
      '-netdev', 'vhost-user,id=n0,chardev=c0',
      // No option ROM: the guest never boots from the NIC, and iPXE's ROM init is slow under
      // emulated firmware.
      '-device', `virtio-net-pci,netdev=n0,romfile=${c.virtioModernOnly ? ',disable-legacy=on' : ''}`,
    );
  }
  if (c.incoming) args.push('-incoming', 'defer');
  if (c.cprChannelSocket !== undefined) {
    const addr = { transport: 'socket', type: 'unix', path: c.cprChannelSocket };
    args.push('-incoming', JSON.stringify({ 'channel-type': 'cpr', addr }));
  }
  return args;
}

/**
 * DPDK testpmd as a vhost-user back-end with postcopy support, without hugepages or PCI devices.
 * `-v` makes EAL print its version into the log. `--stats-period` keeps testpmd running without
 * reading stdin (which is closed).
 */
export function testpmdArgs(socket: string, filePrefix: string): string[] {
  return [
    '-v',
    '--no-huge', '-m', '1024', '--no-pci',
    `--file-prefix=${filePrefix}`,
    '--vdev', `net_vhost0,iface=${chardevPath('vhost-user socket', socket)},queues=1,postcopy-support=1`,
    '--log-level=lib.vhost.config:debug',
    '--',
    '--no-mlockall', '--total-num-mbufs=2048', '--stats-period', '30',
  ];
}

export interface BridgeCommandLine {
  /** The vhost-user unix socket (`-u`): the bridge listens on it, or connects to it with `client`. */
  socket: string;
  /** UDP `host:port` the bridge receives on (`-l`). */
  local: string;
  /** UDP `host:port` it sends the guest's packets to (`-r`). */
  remote: string;
  /** `-c`: connect to QEMU's socket instead of listening (QEMU then needs `server=on` on its chardev). */
  client?: boolean;
  /** `-H`: host notifiers (a memory-mapped doorbell per queue). */
  hostNotifier?: boolean;
}

const HOST_PORT = /^[^:\s]+:\d{1,5}$/;

/** QEMU's tests/vhost-user-bridge: `[-c] [-H] -u SOCKET -l LHOST:LPORT -r RHOST:RPORT`. */
export function bridgeArgs(c: BridgeCommandLine): string[] {
  for (const [what, v] of [['local', c.local], ['remote', c.remote]] as const) {
    if (!HOST_PORT.test(v) || Number(v.slice(v.lastIndexOf(':') + 1)) > 65535) throw new Error(`bridge ${what} address must be HOST:PORT, got '${v}'`);
  }
  return [...(c.client ? ['-c'] : []), ...(c.hostNotifier ? ['-H'] : []), '-u', c.socket, '-l', c.local, '-r', c.remote];
}

/**
 * A program whose stdout is a file or pipe buffers its printf() output in 4 KiB blocks, so a line
 * such as the bridge's "Waiting for data ..." arrives late or never: run it under coreutils'
 * stdbuf with line-buffered stdout. Without stdbuf the program runs as is.
 */
export function lineBuffered(binary: string, args: readonly string[], stdbuf: string | undefined): { binary: string; args: string[] } {
  return stdbuf === undefined ? { binary, args: [...args] } : { binary: stdbuf, args: ['-oL', '-eL', binary, ...args] };
}

/** Where EAL keeps the runtime files of a file prefix (it leaves them behind at exit). */
export function dpdkRuntimeDir(filePrefix: string): string {
  const base = process.getuid?.() === 0 ? '/var/run' : (process.env.XDG_RUNTIME_DIR ?? '/tmp');
  return `${base}/dpdk/${filePrefix}`;
}

/** DPDK version from testpmd's log (`EAL: RTE Version: 'DPDK 22.11.11'`). */
export function parseDpdkVersion(log: string): string | undefined {
  return /RTE Version: '([^']+)'/.exec(log)?.[1];
}
