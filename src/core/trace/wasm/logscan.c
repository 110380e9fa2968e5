/*
 * Hot loops of the trace readers, compiled to WebAssembly (see ../wasmScan.ts): the
 * log-backend line scanner, and at the end the simpletrace record scanner (scan_records),
 * which shares the stages and the string dictionary.
 *
 * scan() walks complete lines of the input buffer. A line is taken here when it has a
 * `tid@sec.frac:` prefix, an ISO-8601 prefix or none, names a catalogue event whose
 * format was given a program (set_program), and its arguments match that program.
 * Its row (time, line, thread code, one value per field) goes to the event's stage:
 * STAGE_ROWS values per column, column after column: times as doubles, then line,
 * thread and fields as 64-bit integers. Every other line is handed back to the JavaScript
 * reader untouched (status ST_SLOW), which parses it with the exact decoders; so this
 * file only has to agree with the JavaScript reader on the lines it accepts.
 *
 * Numbers of up to 15 decimal or 13 hex digits are exact both as the integers read here
 * and as the doubles the JavaScript reader sums, and times are computed with the same
 * double operations, so every stored value and time is the same; longer numbers send
 * the line back.
 *
 * Freestanding: no libc. Memory is one bump-allocated heap; nothing is freed.
 */
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;

#define EXPORT(name) __attribute__((export_name(#name)))
/* Helpers of the hot loop: a call costs more than their bodies. */
#define HOT static inline __attribute__((always_inline))
#define IMPORT(name) __attribute__((import_module("env"), import_name(#name)))

/* The store's code for a thread id (TraceStore.tidCode). */
IMPORT(tid_code) int js_tid_code(double tid);
/* Relative time of the first timed line of a store (TraceStore.relTime); calls set_base. */
IMPORT(first_time) double js_first_time(double sec, double ns);

/* Program opcodes (see wasmScan.ts, encodeProgram). */
enum { OP_END = 0, OP_LIT = 1, OP_INT = 2, OP_UINT = 3, OP_HEX = 4, OP_HEXALT = 5, OP_PTR = 6, OP_STR = 7 };
/* scan() statuses. */
enum { ST_END = 0, ST_SLOW = 1, ST_FULL = 2, ST_NEED_PROGRAM = 3, ST_STRINGS = 4 };

enum { STAGE_ROWS = 2048, SLOTS = 64, NEW_STRINGS = 1024 };
/* Limits of the string dictionary; beyond them string events go back to JavaScript. */
enum { MAX_STRING_BYTES = 64 << 20, MAX_STRINGS = 1 << 20 };

/* ---- heap ---------------------------------------------------------------------- */

extern u8 __heap_base;
static uintptr_t heap_top;

static void *bump(u32 n) {
  if (heap_top == 0) heap_top = ((uintptr_t)&__heap_base + 15) & ~(uintptr_t)15;
  uintptr_t p = heap_top;
  uintptr_t end = p + ((n + 15) & ~(u32)15);
  uintptr_t have = (uintptr_t)__builtin_wasm_memory_size(0) * 65536;
  if (end > have) {
    uintptr_t pages = (end - have + 65535) / 65536;
    if (__builtin_wasm_memory_grow(0, pages) == (uintptr_t)-1) return 0;
  }
  heap_top = end;
  return (void *)p;
}

/* Zeroed memory (fresh pages are zero, but reused memory is not guaranteed). */
static void *bump_zero(u32 n) {
  u8 *p = bump(n);
  if (p) __builtin_memset(p, 0, n);
  return p;
}

EXPORT(alloc) void *qmw_alloc(u32 n) { return bump(n); }

void reset_store(void);
/* Events with staged rows, each once (dirty flag). */
static u32 *dirty;
/* Where pack() writes (allocated by init, so handing a stage over never grows memory). */
static u8 *pack_buf;
static u32 n_dirty;

/* ---- catalogue ----------------------------------------------------------------- */

typedef struct {
  const u8 *name;
  u32 name_len;
  /* 0: not asked yet; 1: has a program; 2: always sent back. */
  u32 state;
  const u8 *prog;
  /* A numeric-only program compiled to steps (see compile_steps), else 0. */
  const struct Step *steps;
  u32 nfields;
  u32 has_str;
  /* Column 0 (times) holds doubles, the others int64_t. */
  int64_t *stage;
  u32 staged;
  u32 dirty;
} Event;

static Event *events;
static u32 n_events;
static u32 *name_slots; /* event index + 1, open addressing */
static u32 name_mask;

static u8 ident[256];

#define HASH_SEED 0x811c9dc5u
#define HASH_MUL 0x01000193u

EXPORT(init) int init(u32 count) {
  for (u32 c = 0; c < 256; c++) ident[c] = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
  n_events = count;
  events = bump_zero(count * sizeof(Event) + 16);
  u32 cap = 16;
  while (cap < count * 2) cap <<= 1;
  name_mask = cap - 1;
  name_slots = bump_zero(cap * 4);
  dirty = bump(count * 4 + 16);
  pack_buf = bump(STAGE_ROWS * 8);
  reset_store();
  return events && name_slots && dirty && pack_buf ? 0 : -1;
}

/* Registers event index's name (bytes at name, copied by the caller into this memory). */
EXPORT(add_event) void add_event(u32 index, const u8 *name, u32 len) {
  Event *ev = &events[index];
  ev->name = name;
  ev->name_len = len;
  u32 h = HASH_SEED;
  for (u32 k = 0; k < len; k++) h = (h ^ name[k]) * HASH_MUL;
  u32 s = h & name_mask;
  while (name_slots[s] != 0) s = (s + 1) & name_mask;
  name_slots[s] = index + 1;
}

static const struct Step *compile_steps(const u8 *prog);

/* Program for an event (prog == 0: the event's lines always go back to JavaScript). */
EXPORT(set_program) void set_program(u32 index, const u8 *prog, u32 nfields, u32 has_str) {
  Event *ev = &events[index];
  ev->prog = prog;
  ev->steps = prog && !has_str ? compile_steps(prog) : 0;
  ev->state = prog && (has_str || ev->steps) ? 1 : 2;
  ev->nfields = nfields;
  ev->has_str = has_str;
}

static int lookup(const u8 *s, u32 len, u32 h) {
  u32 k = h & name_mask;
  for (;;) {
    u32 v = name_slots[k];
    if (v == 0) return -1;
    Event *ev = &events[v - 1];
    if (ev->name_len == len) {
      u32 j = 0;
      while (j < len && ev->name[j] == s[j]) j++;
      if (j == len) return (int)(v - 1);
    }
    k = (k + 1) & name_mask;
  }
}

/* ---- per-store state ------------------------------------------------------------- */

static uint64_t tid_keys[SLOTS];
static int tid_codes[SLOTS];
static uint64_t last_tid;
static int last_tid_code;
static int has_base;
static double base_sec, base_ns;
static int predicted[SLOTS];

EXPORT(reset_store) void reset_store(void) {
  for (int k = 0; k < SLOTS; k++) predicted[k] = 0;
  for (int k = 0; k < SLOTS; k++) { tid_keys[k] = UINT64_MAX; tid_codes[k] = 0; }
  last_tid = UINT64_MAX;
  last_tid_code = 0;
  has_base = 0;
}

EXPORT(set_base) void set_base(double sec, double ns) {
  has_base = 1;
  base_sec = sec;
  base_ns = ns;
}

/* ---- string dictionary ----------------------------------------------------------- */

static u8 *str_bytes;
static u32 str_bytes_len, str_bytes_cap;
static u32 *str_off, *str_len, *str_hash;
static u32 n_strings, strings_cap;
static u32 *str_slots; /* id + 1 */
static u32 str_mask;
/* Strings first seen during the current scan() call: (id, input offset, length). */
static u32 new_strings[NEW_STRINGS * 3];
static u32 n_new;

static int strings_grow(void) {
  u32 cap = strings_cap ? strings_cap * 2 : 1024;
  u32 *off = bump(cap * 4), *len = bump(cap * 4), *hash = bump(cap * 4);
  u32 *slots = bump_zero(cap * 2 * 4);
  if (!off || !len || !hash || !slots) return -1;
  if (n_strings) {
    __builtin_memcpy(off, str_off, n_strings * 4);
    __builtin_memcpy(len, str_len, n_strings * 4);
    __builtin_memcpy(hash, str_hash, n_strings * 4);
  }
  str_off = off; str_len = len; str_hash = hash; str_slots = slots;
  strings_cap = cap;
  str_mask = cap * 2 - 1;
  for (u32 id = 0; id < n_strings; id++) {
    u32 k = str_hash[id] & str_mask;
    while (str_slots[k] != 0) k = (k + 1) & str_mask;
    str_slots[k] = id + 1;
  }
  return 0;
}

/* Id of the bytes [s, e), interned on first sight; -1 when the dictionary is full. */
static int intern(const u8 *s, const u8 *e) {
  u32 len = (u32)(e - s);
  u32 h = HASH_SEED;
  for (const u8 *q = s; q < e; q++) h = (h ^ *q) * HASH_MUL;
  if (str_slots) {
    u32 k = h & str_mask;
    for (;;) {
      u32 v = str_slots[k];
      if (v == 0) break;
      u32 id = v - 1;
      if (str_hash[id] == h && str_len[id] == len) {
        const u8 *t = str_bytes + str_off[id];
        u32 j = 0;
        while (j < len && t[j] == s[j]) j++;
        if (j == len) return (int)id;
      }
      k = (k + 1) & str_mask;
    }
  }
  if (n_new == NEW_STRINGS || n_strings >= MAX_STRINGS || str_bytes_len + len > MAX_STRING_BYTES) return -1;
  if (n_strings == strings_cap && strings_grow() < 0) return -1;
  if (str_bytes_len + len > str_bytes_cap) {
    u32 cap = str_bytes_cap ? str_bytes_cap : 4096;
    while (cap < str_bytes_len + len) cap *= 2;
    u8 *b = bump(cap);
    if (!b) return -1;
    if (str_bytes_len) __builtin_memcpy(b, str_bytes, str_bytes_len);
    str_bytes = b;
    str_bytes_cap = cap;
  }
  u32 id = n_strings++;
  __builtin_memcpy(str_bytes + str_bytes_len, s, len);
  str_off[id] = str_bytes_len;
  str_len[id] = len;
  str_hash[id] = h;
  str_bytes_len += len;
  u32 k = h & str_mask;
  while (str_slots[k] != 0) k = (k + 1) & str_mask;
  str_slots[k] = id + 1;
  new_strings[n_new * 3] = id;
  new_strings[n_new * 3 + 1] = (u32)(uintptr_t)s;
  new_strings[n_new * 3 + 2] = len;
  n_new++;
  return (int)id;
}

EXPORT(new_strings_ptr) u32 *new_strings_ptr(void) { return new_strings; }
EXPORT(new_strings_count) u32 new_strings_count(void) { return n_new; }
EXPORT(clear_new_strings) void clear_new_strings(void) { n_new = 0; }

/* ---- stages ---------------------------------------------------------------------- */


EXPORT(stage_rows) u32 stage_rows(void) { return STAGE_ROWS; }
EXPORT(stage_ptr) int64_t *stage_ptr(u32 index) { return events[index].stage; }
EXPORT(staged) u32 staged(u32 index) { return events[index].staged; }
EXPORT(clear_stage) void clear_stage(u32 index) { events[index].staged = 0; }
EXPORT(dirty_ptr) u32 *dirty_ptr(void) { return dirty; }
EXPORT(dirty_count) u32 dirty_count(void) { return n_dirty; }
EXPORT(clear_dirty) void clear_dirty(void) {
  for (u32 k = 0; k < n_dirty; k++) events[dirty[k]].dirty = 0;
  n_dirty = 0;
}

/*
 * Handing a stage column to JavaScript: its range, then its values in the narrowest
 * typed array the column's kind needs (copied from there without conversion).
 */
static double range_min, range_max;

EXPORT(column_range) void column_range(u32 index, u32 k, u32 n) {
  const int64_t *c = events[index].stage + k * STAGE_ROWS;
  int64_t lo = c[0], hi = c[0];
  for (u32 r = 1; r < n; r++) {
    int64_t v = c[r];
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  range_min = (double)lo;
  range_max = (double)hi;
}
/* The range of the first n staged times of an event (column 0, doubles), for a store's time span. */
EXPORT(time_range) void time_range(u32 index, u32 n) {
  const double *c = (const double *)events[index].stage;
  double lo = c[0], hi = c[0];
  for (u32 r = 1; r < n; r++) {
    double v = c[r];
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  range_min = lo;
  range_max = hi;
}
EXPORT(range_min) double get_range_min(void) { return range_min; }
EXPORT(range_max) double get_range_max(void) { return range_max; }

/*
 * Integer column k's n values as one of the PACK_ kinds: the address of
 * the packed values, or 0 when a value does not fit the kind (the caller then asks
 * column_range and widens).
 */
enum { PACK_U8 = 0, PACK_U16 = 1, PACK_I32 = 2, PACK_U32 = 3, PACK_F64 = 4 };

EXPORT(pack) void *pack(u32 index, u32 k, u32 n, u32 kind) {
  const int64_t *c = events[index].stage + k * STAGE_ROWS;
  uint64_t bad = 0;
  switch (kind) {
    case PACK_U8: { u8 *o = pack_buf; for (u32 r = 0; r < n; r++) { uint64_t v = (uint64_t)c[r]; bad |= v >> 8; o[r] = (u8)v; } break; }
    case PACK_U16: { u16 *o = (u16 *)pack_buf; for (u32 r = 0; r < n; r++) { uint64_t v = (uint64_t)c[r]; bad |= v >> 16; o[r] = (u16)v; } break; }
    case PACK_I32: { int32_t *o = (int32_t *)pack_buf; for (u32 r = 0; r < n; r++) { int64_t v = c[r]; bad |= (uint64_t)(v - INT32_MIN) >> 32; o[r] = (int32_t)v; } break; }
    case PACK_U32: { u32 *o = (u32 *)pack_buf; for (u32 r = 0; r < n; r++) { uint64_t v = (uint64_t)c[r]; bad |= v >> 32; o[r] = (u32)v; } break; }
    default: /* PACK_F64 */ { double *o = (double *)pack_buf; for (u32 r = 0; r < n; r++) o[r] = (double)c[r]; break; }
  }
  return bad ? 0 : pack_buf;
}

/* ---- decoding ---------------------------------------------------------------------- */

/* ns per unit of a fraction of n digits: POW10[n]. */
static const double POW10[10] = { 1e9, 1e8, 1e7, 1e6, 1e5, 1e4, 1e3, 1e2, 1e1, 1 };
static int8_t hexval[256];

HOT u32 rd16(const u8 *p) { return p[0] | (u32)p[1] << 8; }

HOT int is_digit(u8 c) { return (u8)(c - '0') <= 9; }

/* Values here are below 2^53: the signed conversion is exact (and cheaper than the unsigned one). */
HOT double to_double(uint64_t v) { return (double)(int64_t)v; }

HOT uint64_t ld64(const u8 *p) {
  uint64_t v;
  __builtin_memcpy(&v, p, 8);
  return v;
}

/* How many of the 8 bytes of x (first byte lowest) are decimal digits before the first other byte. */
HOT u32 digit_run(uint64_t x) {
  /* A byte is a digit when its high nibble is 3 both as is and after adding 6. A carry out of
     a byte (only from 0xFA..0xFF, not digits) can only disturb bytes after a non-digit. */
  uint64_t m = ((x & 0xF0F0F0F0F0F0F0F0ull) ^ 0x3030303030303030ull) |
               (((x + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) ^ 0x3030303030303030ull);
  return m ? (u32)__builtin_ctzll(m) >> 3 : 8;
}

/* Value of the first n (1..8) digit bytes of x. */
HOT uint64_t digits_value(uint64_t x, u32 n) {
  x <<= (8 - n) * 8; /* the digits move up; the bytes shifted in read as leading zeros */
  x = ((x & 0x0F0F0F0F0F0F0F0Full) * 2561) >> 8;
  x = ((x & 0x00FF00FF00FF00FFull) * 6553601) >> 16;
  return ((x & 0x0000FFFF0000FFFFull) * 42949672960001ull) >> 32;
}

static const uint64_t POW10U[9] = { 1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000 };

/*
 * Reads the decimal digits at *pp (at least 16 readable bytes follow, the input's padding
 * included). Returns their count, or 16 when there are more than 15 (too long to be exact
 * in a double); *out gets the value of up to 15 digits.
 */
HOT u32 read_dec(const u8 **pp, uint64_t *out) {
  const u8 *p = *pp;
  /* One digit (channel numbers, flags, small counts) is the most common case. */
  if (is_digit(p[0]) && !is_digit(p[1])) {
    *out = (u32)(p[0] - '0');
    *pp = p + 1;
    return 1;
  }
  uint64_t x = ld64(p);
  u32 n = digit_run(x);
  if (n == 0) return 0;
  uint64_t v = digits_value(x, n);
  if (n == 8) {
    uint64_t y = ld64(p + 8);
    u32 m = digit_run(y);
    if (m == 8) return 16;
    if (m) v = v * POW10U[m] + digits_value(y, m);
    n += m;
  }
  *pp = p + n;
  *out = v;
  return n;
}

/*
 * Whether the k bytes at a and b are equal, compared 8 at a time; up to 7 bytes after
 * each may be read (the input's padding, the program's zero fill, the names area).
 */
HOT int same_bytes(const u8 *a, const u8 *b, u32 k) {
  u32 j = 0;
  for (; j + 8 <= k; j += 8) if (ld64(a + j) != ld64(b + j)) return 0;
  if (j == k) return 1;
  uint64_t mask = ~0ull >> (64 - 8 * (k - j));
  return ((ld64(a + j) ^ ld64(b + j)) & mask) == 0;
}

/*
 * One literal step (len:u16, then the bytes zero-filled to a multiple of 8, at *prog):
 * moves *prog past it and returns the position after the literal, or 0 when the bytes at
 * p (which must end by limit) differ.
 */
HOT const u8 *literal_step(const u8 **prog, const u8 *p, const u8 *limit) {
  u32 k = rd16(*prog);
  const u8 *lit = *prog + 2;
  *prog = lit + ((k + 7) & ~7u);
  return p + k <= limit && same_bytes(p, lit, k) ? p + k : 0;
}

/*
 * One number step (op, field f, padding width) from p: stores the value and
 * returns the position after it and its padding, or 0 on a mismatch or a number too long
 * to be exact in a double. Unbounded: the line's end (CR or LF) stops every scan, and at
 * least 16 readable bytes follow the input.
 */
HOT const u8 *number_step(u32 op, u32 f, u32 width, const u8 *p, int64_t *out) {
  const u8 *fs = p;
  uint64_t v = 0;
  if (op == OP_INT || op == OP_UINT) {
    int neg = 0;
    if (*p < '0') {
      while (*p == ' ') p++;
      if (op == OP_INT && *p == '-') { neg = 1; p++; } else if (*p == '+') p++;
    }
    /* Up to 15 digits the integer and the double sum of the JavaScript reader agree. */
    u32 nd = read_dec(&p, &v);
    if (nd == 0 || nd > 15) return 0;
    out[f * STAGE_ROWS] = neg ? -(int64_t)v : (int64_t)v;
  } else {
    while (*p == ' ') p++;
    if (op == OP_PTR && *p == '(') {
      if (p[1] != 'n' || p[2] != 'i' || p[3] != 'l' || p[4] != ')') return 0;
      p += 5;
    } else {
      if (op == OP_PTR) {
        if (p[0] != '0' || p[1] != 'x') return 0;
        p += 2;
      } else if (op == OP_HEXALT && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) p += 2;
      const u8 *s = p;
      int d;
      while ((d = hexval[*p]) >= 0) { v = v * 16 + (u32)d; p++; }
      if (p == s || p - s > 13) return 0;
    }
    out[f * STAGE_ROWS] = (int64_t)v;
  }
  if (width) while (p - fs < (long)width && *p == ' ') p++;
  return p;
}

/*
 * A numeric-only program as steps: each is the literal before a conversion (or before the
 * end) and the conversion. Literals of up to 16 bytes are compared as two masked 8-byte
 * words; longer ones byte string by byte string.
 */
typedef struct Step {
  uint64_t lit0, lit1, mask0, mask1;
  const u8 *lit;
  u32 lit_len;
  u32 op; /* OP_END or a number conversion */
  u32 field;
  u32 width;
} Step;

static const Step *compile_steps(const u8 *prog) {
  u32 n = 1;
  for (const u8 *q = prog; *q != OP_END;) {
    if (*q == OP_LIT) q += 3 + ((rd16(q + 1) + 7) & ~7u);
    else { q += 4; n++; }
  }
  Step *steps = bump_zero(n * sizeof(Step));
  if (!steps) return 0;
  Step *st = steps;
  for (const u8 *q = prog;;) {
    u32 op = *q;
    if (op == OP_LIT) {
      u32 k = rd16(q + 1);
      const u8 *lit = q + 3;
      /* Two literals in a row are not made by encodeProgram; keep the line for JavaScript. */
      if (st->lit_len) return 0;
      st->lit = lit;
      st->lit_len = k;
      if (k <= 16) {
        uint64_t w[2] = { 0, 0 };
        __builtin_memcpy(w, lit, k);
        st->lit0 = w[0];
        st->lit1 = w[1];
        /* Masks of the first k bytes (the first byte is the lowest). */
        st->mask0 = k >= 8 ? ~0ull : (1ull << (8 * k)) - 1;
        st->mask1 = k <= 8 ? 0 : k >= 16 ? ~0ull : (1ull << (8 * (k - 8))) - 1;
      }
      q = lit + ((k + 7) & ~7u);
      continue;
    }
    st->op = op;
    if (op == OP_END) return steps;
    st->field = q[1];
    st->width = rd16(q + 2);
    q += 4;
    st++;
  }
}

/*
 * Runs compiled steps from p up to the line end (no literal of a numeric program holds CR
 * or LF, so a literal or a number never runs past the line, and at least 16 readable bytes
 * follow the input). Returns the position after the last step, or 0 on a mismatch.
 */
static const u8 *run_steps(const Step *st, const u8 *p, int64_t *out) {
  for (;; st++) {
    u32 k = st->lit_len;
    if (k) {
      if (k <= 16) {
        if (((ld64(p) ^ st->lit0) & st->mask0) | ((ld64(p + 8) ^ st->lit1) & st->mask1)) return 0;
      } else if (!same_bytes(p, st->lit, k)) return 0;
      p += k;
    }
    u32 op = st->op;
    if (op == OP_END) return p;
    if (op == OP_UINT && st->width == 0 && is_digit(p[0])) {
      /* The common case: an unsigned decimal without padding. */
      uint64_t v;
      if (!is_digit(p[1])) { v = (u32)(p[0] - '0'); p++; }
      else {
        u32 nd = read_dec(&p, &v);
        if (nd > 15) return 0;
      }
      out[st->field * STAGE_ROWS] = (int64_t)v;
      continue;
    }
    p = number_step(op, st->field, st->width, p, out);
    if (!p) return 0;
  }
}

static const u8 *find_lit(const u8 *p, const u8 *e, const u8 *lit, u32 k) {
  if (k == 0) return p;
  for (const u8 *last = e - k; p <= last; p++) {
    if (*p != lit[0]) continue;
    u32 j = 1;
    while (j < k && p[j] == lit[j]) j++;
    if (j == k) return p;
  }
  return 0;
}

/*
 * Runs a program with string fields over exactly [p, e) (the line without its end),
 * as the JavaScript interpreter's first attempt does: a string ends at the first
 * occurrence of the literal after it, at a blank when a conversion follows, or at e.
 * Returns 1 when the whole range matched; 0 sends the line back (the interpreter
 * then also tries later occurrences); -1 when the string dictionary is full.
 */
static int run_exact(const u8 *prog, const u8 *p, const u8 *e, int64_t *out) {
  for (;;) {
    u32 op = *prog++;
    if (op == OP_END) return p == e;
    if (op == OP_LIT) {
      if (!(p = literal_step(&prog, p, e))) return 0;
      continue;
    }
    u32 f = prog[0];
    if (op == OP_STR) {
      prog += 1;
      const u8 *se;
      if (*prog == OP_END) se = e;
      else if (*prog == OP_LIT) {
        se = find_lit(p, e, prog + 3, rd16(prog + 1));
        if (!se) return 0;
      } else {
        se = p;
        while (se < e && *se != ' ') se++;
      }
      int id = intern(p, se);
      if (id < 0) return -1;
      out[f * STAGE_ROWS] = id;
      p = se;
      continue;
    }
    /* The byte at e is CR or LF, which stops a number step as the line end does. */
    p = number_step(op, f, rd16(prog + 1), p, out);
    if (!p || p > e) return 0;
    prog += 3;
  }
}

static double floordiv(double a, double b) { return __builtin_floor(a / b); }

static double days_from_civil(double y, double m, double d) {
  y -= m <= 2 ? 1 : 0;
  double era = floordiv(y, 400);
  double yoe = y - era * 400;
  double doy = floordiv(153 * (m + (m > 2 ? -3 : 9)) + 2, 5) + d - 1;
  double doe = yoe * 365 + floordiv(yoe, 4) - floordiv(yoe, 100) + doy;
  return era * 146097 + doe - 719468;
}

static int two(const u8 *p) {
  int a = p[0] - '0', b = p[1] - '0';
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

static double rel_time(double sec, double ns) {
  if (!has_base) return js_first_time(sec, ns);
  return (sec - base_sec) * 1e9 + (ns - base_ns);
}

/* `YYYY-MM-DDTHH:MM:SS[.f]Z ` at s (year read): the name start, or 0. Sets *ts. */
static const u8 *parse_iso(const u8 *s, const u8 *end, double year, double *ts) {
  if (s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':') return 0;
  int mo = two(s + 5), d = two(s + 8), hh = two(s + 11), mi = two(s + 14), ss = two(s + 17);
  /* Fields out of their ranges (month 13, hour 24, ...) are no time: the line is not prefixed. */
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || hh < 0 || hh > 23 || mi < 0 || mi > 59 || ss < 0 || ss > 60) return 0;
  const u8 *k = s + 19;
  double frac = 0;
  long nd = 0;
  if (*k == '.') {
    k++;
    const u8 *fs = k;
    while (k < end && is_digit(*k)) { frac = frac * 10 + (*k - '0'); k++; }
    nd = k - fs;
    if (nd == 0 || nd > 9) return 0;
  }
  if (k[0] != 'Z' || k[1] != ' ') return 0;
  double sec = days_from_civil(year, mo, d) * 86400 + hh * 3600 + mi * 60 + ss;
  *ts = rel_time(sec, nd == 0 ? 0 : frac * POW10[nd]);
  return k + 2;
}

/* ---- the scan ---------------------------------------------------------------------- */

static u32 status, status_arg;
static double line_no;
static u32 lines_taken;

EXPORT(status) u32 get_status(void) { return status; }
EXPORT(status_arg) u32 get_status_arg(void) { return status_arg; }
EXPORT(line) double get_line(void) { return line_no; }
EXPORT(lines_taken) u32 get_lines_taken(void) { return lines_taken; }

/*
 * Scans lines from p; end is just after a newline and at least 8 readable bytes follow
 * it. line is the number of the line before p. Returns where it stopped: end (ST_END),
 * the start of a line for JavaScript (ST_SLOW, or ST_NEED_PROGRAM with the event index
 * in status_arg), or the start of the next line after a row that filled a stage
 * (ST_FULL, event index in status_arg) or after the string log filled (ST_STRINGS).
 * line() is then the number of the last line taken.
 */
EXPORT(scan) const u8 *scan(const u8 *p, const u8 *end, double line_before) {
  lines_taken = 0;
  /* Counted as an integer: a double here costs a conversion per row. */
  int64_t line = (int64_t)line_before;
  if (hexval[0] == 0) {
    for (int c = 0; c < 256; c++) hexval[c] = -1;
    for (int c = 0; c < 10; c++) hexval['0' + c] = (int8_t)c;
    for (int c = 0; c < 6; c++) { hexval['a' + c] = (int8_t)(10 + c); hexval['A' + c] = (int8_t)(10 + c); }
  }
  /* Text of the last ten-digit seconds field (sec_w0 == 0: none). */
  u32 sec_w0 = 0, sec_w1 = 0, sec_w2 = 0;
  uint64_t last_sec = 0;
  while (p < end) {
    const u8 *s = p;
    const u8 *i = p;
    double ts = __builtin_nan("");
    int tid_code = 0;
    u8 c = *i;
    if (is_digit(c)) {
      /* Up to 15 digits an integer sum equals the JavaScript reader's double sum. */
      uint64_t v = 0;
      if (read_dec(&i, &v) > 15) goto slow;
      c = *i;
      if (c == '-' && i - s == 4) {
        const u8 *c21p = s + 21;
        if (c21p >= end || *c21p == '\n' || (*c21p == '\r' && c21p[1] == '\n')) goto slow;
        const u8 *t = parse_iso(s, end, to_double(v), &ts);
        if (!t || !ident[*t]) goto slow;
        i = t;
      } else {
        if (c != '@') goto slow;
        uint64_t sec = 0;
        const u8 *ss = ++i;
        u32 w0, w1, w2 = rd16(ss + 8);
        __builtin_memcpy(&w0, ss, 4);
        __builtin_memcpy(&w1, ss + 4, 4);
        if (sec_w0 != 0 && ss + 11 <= end && w0 == sec_w0 && w1 == sec_w1 && w2 == sec_w2 && ss[10] == '.') {
          sec = last_sec;
          i = ss + 10;
        } else {
          c = *i;
          while (is_digit(c)) { sec = sec * 10 + (u32)(c - '0'); c = *++i; }
          if (i == ss || c != '.' || i - ss > 15) goto slow;
          if (i - ss == 10) { sec_w0 = w0; sec_w1 = w1; sec_w2 = w2; last_sec = sec; } else sec_w0 = 0;
        }
        uint64_t frac = 0;
        ++i;
        u32 nd = read_dec(&i, &frac);
        if (nd == 0 || nd > 9 || *i != ':') goto slow;
        ts = rel_time(to_double(sec), to_double(frac) * POW10[nd]);
        if (v != last_tid) {
          u32 slot = (u32)v & (SLOTS - 1);
          if (tid_keys[slot] != v) { tid_keys[slot] = v; tid_codes[slot] = js_tid_code(to_double(v)); }
          last_tid = v;
          last_tid_code = tid_codes[slot];
        }
        tid_code = last_tid_code;
        i++;
      }
    }
    /* Event name: the thread's previous event first, else hashed. */
    const u8 *ns = i;
    u32 pslot = (u32)tid_code & (SLOTS - 1);
    int idx = predicted[pslot] - 1;
    if (idx >= 0) {
      const Event *ev = &events[idx];
      u32 nl = ev->name_len;
      if (ns + nl < end) {
        c = ns[nl];
        if ((c == ' ' || c == '\n' || c == '\r') && same_bytes(ns, ev->name, nl)) i = ns + nl;
        else idx = -1;
      } else idx = -1;
    }
    if (idx < 0) {
      u32 h = HASH_SEED;
      c = *i;
      while (ident[c]) { h = (h ^ c) * HASH_MUL; c = *++i; }
      if (i == ns || (c != ' ' && c != '\n' && c != '\r')) goto slow;
      idx = lookup(ns, (u32)(i - ns), h);
      if (idx < 0) goto slow;
      predicted[pslot] = idx + 1;
    }
    Event *ev = &events[idx];
    if (ev->state != 1) {
      if (ev->state == 0) { status = ST_NEED_PROGRAM; status_arg = (u32)idx; line_no = (double)line; return s; }
      goto slow;
    }
    if (!ev->stage) {
      ev->stage = bump((3 + ev->nfields) * STAGE_ROWS * 8);
      if (!ev->stage) goto slow;
    }
    int64_t *row = ev->stage + ev->staged;
    const u8 *next;
    if (!ev->has_str) {
      const u8 *r = run_steps(ev->steps, c == ' ' ? i + 1 : i, row + 3 * STAGE_ROWS);
      if (!r) goto slow;
      if (r[0] == '\n') next = r + 1;
      else if (r[0] == '\r' && r[1] == '\n') next = r + 2;
      else goto slow;
    } else {
      const u8 *nl = i;
      while (*nl != '\n') nl++;
      const u8 *e = nl;
      if (e > s && e[-1] == '\r') e--;
      if (c != ' ' && i != e) goto slow;
      int ok = run_exact(ev->prog, c == ' ' ? i + 1 : e, e, row + 3 * STAGE_ROWS);
      if (ok <= 0) goto slow;
      next = nl + 1;
    }
    line += 1;
    ((double *)ev->stage)[ev->staged] = ts;
    row[STAGE_ROWS] = line;
    row[2 * STAGE_ROWS] = tid_code;
    lines_taken++;
    if (!ev->dirty) { ev->dirty = 1; dirty[n_dirty++] = (u32)idx; }
    p = next;
    if (++ev->staged == STAGE_ROWS) { status = ST_FULL; status_arg = (u32)idx; line_no = (double)line; return p; }
    if (n_new == NEW_STRINGS) { status = ST_STRINGS; line_no = (double)line; return p; }
    continue;
  slow:
    status = ST_SLOW;
    line_no = (double)line;
    return s;
  }
  status = ST_END;
  line_no = (double)line;
  return p;
}

/* ---- simpletrace records ------------------------------------------------------------ */

/*
 * scan_records() takes simpletrace v4 event records (layout in ../simpletrace.ts) whose
 * event id has a plan (set_record_plan): one op per declared argument reads it into the
 * event's stage, as the JavaScript reader would store it. Every other record goes back to
 * JavaScript (ST_SLOW): mapping and dropped-event records, ids without a plan, values at
 * or beyond 2^53, records that end before their arguments. JavaScript reads that one
 * record (and reports what is wrong with it, with its offset) and calls again.
 */
enum { R_SKIP = 0, R_SKIP_STR = 1, R_STR = 2, R_CHAR = 3, R_U8 = 4, R_S8 = 5, R_U16 = 6, R_S16 = 7, R_U32 = 8, R_S32 = 9, R_U64 = 10, R_S64 = 11 };
/* scan_records() stopped at a record whose id has no plan yet (id in status_arg). */
enum { ST_NEED_PLAN = 5, RECORD_IDS = 1 << 16, RECORD_TO_JS = 0xffffffffu, MAX_RECORD = 256u << 20 };

typedef struct {
  /* 0: not asked yet; RECORD_TO_JS: always sent back; else the event's index + 1. */
  u32 event;
  u32 nops;
  /* nops pairs (op, field). */
  const u8 *ops;
} RecordPlan;

static RecordPlan *record_plans;
static u32 *planned_ids;
static u32 n_planned;

HOT u32 rd32(const u8 *p) {
  u32 v;
  __builtin_memcpy(&v, p, 4);
  return v;
}

/*
 * Plan for event id `id` of the current file: event is the catalogue index + 1 (or
 * RECORD_TO_JS), ops nops (op, field) pairs in this memory, nfields the event's fields.
 */
EXPORT(set_record_plan) int set_record_plan(u32 id, u32 event, const u8 *ops, u32 nops, u32 nfields) {
  if (!record_plans) {
    record_plans = bump_zero(RECORD_IDS * sizeof(RecordPlan));
    planned_ids = bump(RECORD_IDS * 4);
    if (!record_plans || !planned_ids) { record_plans = 0; return -1; }
  }
  if (id >= RECORD_IDS) return -1;
  RecordPlan *rp = &record_plans[id];
  if (rp->event == 0) planned_ids[n_planned++] = id;
  rp->event = event;
  rp->ops = ops;
  rp->nops = nops;
  if (event != RECORD_TO_JS) events[event - 1].nfields = nfields;
  return 0;
}

/* Forgets every record plan (another file maps its ids to other events). */
EXPORT(reset_record_plans) void reset_record_plans(void) {
  for (u32 k = 0; k < n_planned; k++) record_plans[planned_ids[k]].event = 0;
  n_planned = 0;
}

HOT int thread_code(uint64_t tid) {
  if (tid != last_tid) {
    u32 slot = (u32)tid & (SLOTS - 1);
    if (tid_keys[slot] != tid) { tid_keys[slot] = tid; tid_codes[slot] = js_tid_code(to_double(tid)); }
    last_tid = tid;
    last_tid_code = tid_codes[slot];
  }
  return last_tid_code;
}

/* Nanoseconds from the store's first event: the same double operations as the JavaScript reader. */
HOT double record_time(u32 hi, u32 lo) {
  if (!has_base) return js_first_time((double)hi, (double)lo);
  return ((double)hi - base_sec) * 4294967296.0 + ((double)lo - base_ns);
}

/*
 * Takes records from p while whole ones are there (end: the input's end; offset: the
 * file offset of p). Returns where it stopped: end or the start of a partial record
 * (ST_END), a record for JavaScript (ST_SLOW) or without a plan (ST_NEED_PLAN), or the
 * next record after a row that filled a stage (ST_FULL) or the string log (ST_STRINGS).
 */
EXPORT(scan_records) const u8 *scan_records(const u8 *p, const u8 *end, double offset) {
  lines_taken = 0;
  int64_t to_file = (int64_t)offset - (int64_t)(uintptr_t)p;
  while (end - p >= 32) {
    if (rd32(p) != 1 || rd32(p + 4) != 0) goto slow;
    u32 length = rd32(p + 24);
    if (length < 24 || length > MAX_RECORD) goto slow;
    if ((uint64_t)(end - p) < 8ull + length) break;
    u32 id = rd32(p + 8);
    if (rd32(p + 12) != 0 || id >= RECORD_IDS) goto slow;
    const RecordPlan *rp = record_plans ? &record_plans[id] : 0;
    if (!rp || rp->event == 0) { status = ST_NEED_PLAN; status_arg = id; return p; }
    if (rp->event == RECORD_TO_JS) goto slow;
    u32 idx = rp->event - 1;
    Event *ev = &events[idx];
    if (!ev->stage) {
      ev->stage = bump((3 + ev->nfields) * STAGE_ROWS * 8);
      if (!ev->stage) goto slow;
    }
    int64_t *row = ev->stage + ev->staged;
    const u8 *a = p + 32, *e = p + 8 + length;
    const u8 *op = rp->ops;
    for (u32 k = 0; k < rp->nops; k++, op += 2) {
      int64_t *out = row + (3 + (u32)op[1]) * STAGE_ROWS;
      if (op[0] == R_STR || op[0] == R_SKIP_STR) {
        if (e - a < 4) goto slow;
        u32 len = rd32(a);
        if ((uint64_t)(e - a - 4) < len) goto slow;
        if (op[0] == R_STR) {
          int sid = intern(a + 4, a + 4 + len);
          if (sid < 0) goto slow;
          *out = sid;
        }
        a += 4 + len;
        continue;
      }
      if (e - a < 8) goto slow;
      u32 lo = rd32(a), hi = rd32(a + 4);
      a += 8;
      switch (op[0]) {
        case R_SKIP: break;
        case R_U64: if (hi >= 0x200000) goto slow; *out = (int64_t)((uint64_t)hi << 32 | lo); break;
        case R_S64: {
          int64_t v = (int64_t)((uint64_t)hi << 32 | lo);
          if (v >= 0 ? hi >= 0x200000 : v < -9007199254740991ll) goto slow;
          *out = v;
          break;
        }
        case R_U32: *out = lo; break;
        case R_S32: *out = (int32_t)lo; break;
        case R_U8: *out = lo & 0xff; break;
        case R_S8: *out = (int8_t)lo; break;
        case R_U16: *out = lo & 0xffff; break;
        case R_S16: *out = (int16_t)lo; break;
        case R_CHAR: {
          /* %c of an integer: its low byte, first in little-endian order. */
          int sid = intern(a - 8, a - 7);
          if (sid < 0) goto slow;
          *out = sid;
          break;
        }
        default: goto slow;
      }
    }
    ((double *)ev->stage)[ev->staged] = record_time(rd32(p + 20), rd32(p + 16));
    row[STAGE_ROWS] = to_file + (int64_t)(uintptr_t)p;
    row[2 * STAGE_ROWS] = thread_code(rd32(p + 28));
    lines_taken++;
    if (!ev->dirty) { ev->dirty = 1; dirty[n_dirty++] = idx; }
    p = e;
    if (++ev->staged == STAGE_ROWS) { status = ST_FULL; status_arg = idx; return p; }
    if (n_new == NEW_STRINGS) { status = ST_STRINGS; return p; }
  }
  status = ST_END;
  return p;
slow:
  status = ST_SLOW;
  return p;
}

/* ---- numbers shared with JavaScript ----------------------------------------------- */

/*
 * Every number of the interface that JavaScript spells too (wasmScan.ts, simpletrace.ts),
 * by its name here; wasmConstants.test.ts checks that each TypeScript copy is equal.
 */
typedef struct {
  const char *name;
  u32 value;
} SharedConstant;

#define SHARED(name) { #name, name }
static const SharedConstant shared_constants[] = {
  SHARED(OP_END), SHARED(OP_LIT), SHARED(OP_INT), SHARED(OP_UINT), SHARED(OP_HEX), SHARED(OP_HEXALT), SHARED(OP_PTR), SHARED(OP_STR),
  SHARED(ST_END), SHARED(ST_SLOW), SHARED(ST_FULL), SHARED(ST_NEED_PROGRAM), SHARED(ST_STRINGS), SHARED(ST_NEED_PLAN),
  SHARED(PACK_U8), SHARED(PACK_U16), SHARED(PACK_I32), SHARED(PACK_U32), SHARED(PACK_F64),
  SHARED(R_SKIP), SHARED(R_SKIP_STR), SHARED(R_STR), SHARED(R_CHAR), SHARED(R_U8), SHARED(R_S8), SHARED(R_U16), SHARED(R_S16),
  SHARED(R_U32), SHARED(R_S32), SHARED(R_U64), SHARED(R_S64),
  SHARED(RECORD_TO_JS),
};

/* The table: shared_constant_count() entries of { name: NUL-terminated text, value: u32 }. */
EXPORT(shared_constants) const SharedConstant *get_shared_constants(void) { return shared_constants; }
EXPORT(shared_constant_count) u32 get_shared_constant_count(void) { return sizeof shared_constants / sizeof shared_constants[0]; }
