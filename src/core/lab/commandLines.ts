/** Argument arrays of the processes a lab run starts (pure: unit-tested without running anything). */

export interface QemuCommandLine {
  side: 'src' | 'dst';
  memoryMiB: number;
  accelerators: readonly string[];
  kernel: string;
  append: string;
  qmpSocket: string;
  traceFile: string;
  traceEvents: readonly string[];
  /** Guest debug console output (port 0xe9). A chardev path: must not contain a comma. */
  debugconFile: string;
  /** vhost-user back-end socket; switches guest RAM to a shared memfd backend. */
  vhostUserSocket?: string;
  /** Destination only: start with `-incoming defer`. */
  incoming?: boolean;
}

/** Paths end up inside QEMU option strings (`key=value,key=value`), where a comma would split them. */
function chardevPath(what: string, p: string): string {
  if (p.includes(',')) throw new Error(`${what} path must not contain a comma: ${p}`);
  return p;
}

export function qemuArgs(c: QemuCommandLine): string[] {
  const args = [
    '-name', `qmig-lab-${c.side},debug-threads=on`,
    '-M', 'pc',
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
    '-D', c.traceFile,
    '-msg', 'timestamp=on',
  );
  // One option per pattern: QEMU 7.2 keeps only the last pattern of a single -trace option.
  for (const p of c.traceEvents) args.push('-trace', `enable=${p}`);
  if (c.vhostUserSocket !== undefined) {
    // vhost-user needs guest RAM the back-end can map: a shared memfd as the only NUMA node.
    args.push(
      '-object', `memory-backend-memfd,id=mem,size=${c.memoryMiB}M,share=on`,
      '-numa', 'node,memdev=mem',
      '-chardev', `socket,id=c0,path=${chardevPath('vhost-user socket', c.vhostUserSocket)}`,
      '-netdev', 'vhost-user,id=n0,chardev=c0',
      // No option ROM: the guest never boots from the NIC, and iPXE's ROM init is slow under
      // emulated firmware.
      '-device', 'virtio-net-pci,netdev=n0,romfile=',
    );
  }
  if (c.incoming) args.push('-incoming', 'defer');
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

/** Where EAL keeps the runtime files of a file prefix (it leaves them behind at exit). */
export function dpdkRuntimeDir(filePrefix: string): string {
  const base = process.getuid?.() === 0 ? '/var/run' : (process.env.XDG_RUNTIME_DIR ?? '/tmp');
  return `${base}/dpdk/${filePrefix}`;
}

/** DPDK version from testpmd's log (`EAL: RTE Version: 'DPDK 22.11.11'`). */
export function parseDpdkVersion(log: string): string | undefined {
  return /RTE Version: '([^']+)'/.exec(log)?.[1];
}
