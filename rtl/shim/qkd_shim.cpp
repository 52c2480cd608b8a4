// extern "C" shim between Rust and the two Verilated models.
//
// Each call steps many clock cycles so the FFI cost is paid once per batch, not per cycle.
// The pattern generator's UART is driven at the bit level here (a host-side 8N1 serialiser
// and deserialiser), so the RTL UART and bridge are exercised exactly as on a board.

#include <cstdint>
#include <cstring>
#include <deque>
#include <vector>

#include "Vpg.h"
#include "Vpg___024root.h"
#include "Vtt.h"
#include "Vtt___024root.h"
#include "verilated.h"
#if QKD_TRACE
#include "verilated_fst_c.h"
#endif

#ifndef QKD_UART_CLKS_PER_BIT
#error "QKD_UART_CLKS_PER_BIT must be set by build.rs"
#endif

namespace {

// One rising clock edge. Both designs have only posedge logic, so the eval at clk=0 that a
// testbench normally does would only settle the inputs. Where the generated model keeps the
// last clock value it saw in a member (Verilator 5.x, checked by build.rs), we instead tell
// it that value was 0 and evaluate once with clk=1: Verilator then settles the inputs and
// runs the clocked logic in the same eval, in its own order. Half the evals, same result
// (the co-simulation tests compare every word against the golden models).
template <typename M>
inline void rising_edge(M* m) {
#if QKD_ONE_EVAL_PER_CYCLE
  m->rootp->__Vtrigrprev__TOP__clk = 0;
  m->clk = 1;
  m->eval();
#else
  m->clk = 0;
  m->eval();
  m->clk = 1;
  m->eval();
#endif
}

constexpr uint32_t kBit = QKD_UART_CLKS_PER_BIT;

// Drives a UART line from a byte queue, 8N1, one call per clock cycle.
struct UartSerialiser {
  std::deque<uint8_t> queue;
  uint32_t bit = 0;       // 0 idle, 1 start, 2..9 data, 10 stop
  uint32_t cycle = 0;     // cycles spent in this bit
  uint8_t cur = 0;
  int line() {
    if (bit == 0) {
      if (queue.empty()) return 1;
      cur = queue.front();
      queue.pop_front();
      bit = 1;
      cycle = 0;
    }
    int v = bit == 1 ? 0 : bit == 10 ? 1 : (cur >> (bit - 2)) & 1;
    if (++cycle == kBit) {
      cycle = 0;
      bit = bit == 10 ? 0 : bit + 1;
    }
    return v;
  }
};

// Samples a UART line once per clock cycle and collects the bytes, 8N1, mid-bit sampling.
struct UartDeserialiser {
  std::vector<uint8_t> bytes;
  uint64_t framing_errors = 0;
  int state = 0;          // 0 idle, 1 start, 2 data, 3 stop
  uint32_t cycle = 0;
  uint32_t nbit = 0;
  uint8_t cur = 0;
  void sample(int line) {
    switch (state) {
      case 0:
        if (!line) {
          state = 1;
          cycle = 0;
        }
        break;
      case 1:
        if (++cycle == kBit / 2) {
          if (line) {
            state = 0;
          } else {
            state = 2;
            cycle = 0;
            nbit = 0;
            cur = 0;
          }
        }
        break;
      case 2:
        if (++cycle == kBit) {
          cycle = 0;
          cur |= (line & 1) << nbit;
          if (++nbit == 8) state = 3;
        }
        break;
      default:
        if (++cycle == kBit) {
          if (line) bytes.push_back(cur); else framing_errors++;
          state = 0;
        }
    }
  }
};

}  // namespace

struct QkdPg {
  VerilatedContext ctx;
  Vpg* m;
  UartSerialiser host_tx;
  UartDeserialiser host_rx;
  uint64_t cycle = 0;
#if QKD_TRACE
  VerilatedFstC* tfp = nullptr;
#endif
};

struct QkdTt {
  VerilatedContext ctx;
  Vtt* m;
  uint64_t cycle = 0;
#if QKD_TRACE
  VerilatedFstC* tfp = nullptr;
#endif
};

/// One hit on a tagger input: the absolute cycle, the channel and the fine code.
struct QkdHit {
  uint64_t cycle;
  uint16_t fine;
  uint8_t channel;
  uint8_t _pad[5];
};

template <typename S, typename M>
static void tick(S* s, M* m) {
  m->clk = 0;
  m->eval();
#if QKD_TRACE
  if (s->tfp) s->tfp->dump(2 * s->cycle);
#endif
  m->clk = 1;
  m->eval();
#if QKD_TRACE
  if (s->tfp) s->tfp->dump(2 * s->cycle + 1);
#endif
  s->cycle++;
}

// Closes the trace and frees a model wrapper (both designs).
template <typename S>
static void free_sim(S* s) {
#if QKD_TRACE
  if (s->tfp) {
    s->tfp->close();
    delete s->tfp;
  }
#endif
  s->m->final();
  delete s->m;
  delete s;
}

// Starts an FST trace of every signal; -1 when built without the `trace` feature.
template <typename S>
static int start_trace(S* s, const char* path) {
#if QKD_TRACE
  s->ctx.traceEverOn(true);
  s->tfp = new VerilatedFstC;
  s->m->trace(s->tfp, 99);
  s->tfp->open(path);
  return 0;
#else
  (void)s;
  (void)path;
  return -1;
#endif
}

// One clock cycle of a stepping loop: two evals with waveform dumps when tracing, else the
// single-eval rising edge.
template <typename S, typename M>
static inline void step_edge(S* s, M* m) {
#if QKD_TRACE
  if (s->tfp) {
    m->clk = 0;
    m->eval();
    s->tfp->dump(2 * s->cycle);
    m->clk = 1;
    m->eval();
    s->tfp->dump(2 * s->cycle + 1);
    return;
  }
#endif
  rising_edge(m);
}

extern "C" {

uint32_t qkd_uart_clks_per_bit() { return kBit; }

QkdPg* qkd_pg_new() {
  auto* s = new QkdPg();
  s->ctx.debug(0);
  s->m = new Vpg(&s->ctx, "pg");
  s->m->rx = 1;
  s->m->rst = 1;
  s->m->ext_valid = 0;
  s->m->ext_rand = 0;
  for (int i = 0; i < 4; i++) tick(s, s->m);
  s->m->rst = 0;
  s->cycle = 0;
  return s;
}

void qkd_pg_free(QkdPg* s) { free_sim(s); }

int qkd_pg_trace(QkdPg* s, const char* path) { return start_trace(s, path); }

void qkd_pg_uart_push(QkdPg* s, const uint8_t* bytes, size_t n) {
  for (size_t i = 0; i < n; i++) s->host_tx.queue.push_back(bytes[i]);
}

size_t qkd_pg_uart_pending(const QkdPg* s) {
  return s->host_tx.queue.size() + (s->host_tx.bit != 0 ? 1 : 0);
}

size_t qkd_pg_uart_pop(QkdPg* s, uint8_t* out, size_t cap) {
  size_t n = s->host_rx.bytes.size() < cap ? s->host_rx.bytes.size() : cap;
  if (n) {
    std::memcpy(out, s->host_rx.bytes.data(), n);
    s->host_rx.bytes.erase(s->host_rx.bytes.begin(), s->host_rx.bytes.begin() + n);
  }
  return n;
}

uint64_t qkd_pg_cycle(const QkdPg* s) { return s->cycle; }

/// Steps n clock cycles. `ext`/`ext_valid` (may be null) give one external random word and
/// flag per cycle. Each pulse slot's packed word goes to `slots` (may be null, else room for n).
/// Returns the number of slots.
size_t qkd_pg_step(QkdPg* s, uint64_t n, const uint64_t* ext, const uint8_t* ext_valid, uint32_t* slots) {
  Vpg* m = s->m;
  size_t ns = 0;
  const bool uart_idle = s->host_tx.queue.empty() && s->host_tx.bit == 0;
  for (uint64_t c = 0; c < n; c++) {
    if (!uart_idle) m->rx = s->host_tx.line();
    if (ext) {
      m->ext_rand = ext[c];
      m->ext_valid = ext_valid ? ext_valid[c] : 1;
    }
    if (m->slot_valid) {
      if (slots) {
        slots[ns] = (uint32_t)m->sym_class | ((uint32_t)m->sym_basis << 2) | ((uint32_t)m->sym_bit << 3) |
                    ((uint32_t)m->laser_fire << 4) | ((uint32_t)m->sync_out << 5) |
                    ((uint32_t)m->frame_out << 6) | ((uint32_t)m->pol_sel << 8) | ((uint32_t)m->dac_code << 16);
      }
      ns++;
    }
    step_edge(s, m);
    s->cycle++;
    s->host_rx.sample(m->tx);
  }
  if (uart_idle) m->rx = 1;
  return ns;
}

QkdTt* qkd_tt_new() {
  auto* s = new QkdTt();
  s->ctx.debug(0);
  s->m = new Vtt(&s->ctx, "tt");
  Vtt* m = s->m;
  m->rst = 1;
  m->hit = 0;
  m->out_ready = 0;
  m->reg_we = 0;
  m->reg_re = 0;
  tick(s, m);
  m->rst = 0;
  s->cycle = 0;
  return s;
}

void qkd_tt_free(QkdTt* s) { free_sim(s); }

int qkd_tt_trace(QkdTt* s, const char* path) { return start_trace(s, path); }

uint64_t qkd_tt_cycle(const QkdTt* s) { return s->cycle; }

/// One register access; takes one clock cycle (no hits, output not read). Returns the status.
uint8_t qkd_tt_reg(QkdTt* s, int write, uint8_t addr, uint32_t wdata, uint32_t* rdata) {
  Vtt* m = s->m;
  m->hit = 0;
  m->out_ready = 0;
  m->reg_addr = addr;
  m->reg_wdata = wdata;
  m->reg_we = write ? 1 : 0;
  m->reg_re = write ? 0 : 1;
  m->clk = 0;
  m->eval();
  uint8_t st = m->reg_status;
  if (rdata) *rdata = m->reg_rdata;
  m->clk = 1;
  m->eval();
  s->cycle++;
  m->reg_we = 0;
  m->reg_re = 0;
  return st;
}

/// Steps n cycles, feeding `hits` (sorted by cycle; cycles before now are skipped and counted
/// in *late). With out_ready, reads one word per cycle into `words` (room for n). Returns the
/// number of words; *consumed is the number of hits used or skipped.
size_t qkd_tt_step(QkdTt* s, uint64_t n, const QkdHit* hits, size_t n_hits, int out_ready, uint32_t* words,
                   size_t* consumed, size_t* late) {
  Vtt* m = s->m;
  size_t nw = 0, hi = 0, nlate = 0;
  m->out_ready = out_ready ? 1 : 0;
  const uint64_t end = s->cycle + n;
  while (s->cycle < end) {
    const uint64_t cyc = s->cycle;
    uint8_t hv = 0;
    while (hi < n_hits && hits[hi].cycle <= cyc) {
      const QkdHit& h = hits[hi++];
      if (h.cycle < cyc) {
        nlate++;
        continue;
      }
      const uint8_t ch = h.channel & 7;
      const uint16_t fine = h.fine & 0x3FF;  // the ports are 10 bits; Verilator does not mask
      if (hv & (1u << ch)) continue;  // one hit per channel per cycle
      hv |= (uint8_t)(1u << ch);
      switch (ch) {
        case 0: m->fine0 = fine; break;
        case 1: m->fine1 = fine; break;
        case 2: m->fine2 = fine; break;
        case 3: m->fine3 = fine; break;
        case 4: m->fine4 = fine; break;
        case 5: m->fine5 = fine; break;
        case 6: m->fine6 = fine; break;
        default: m->fine7 = fine; break;
      }
    }
    m->hit = hv;
    if (out_ready && m->out_valid) words[nw++] = m->out_data;
    step_edge(s, m);
    s->cycle++;
  }
  m->hit = 0;
  *consumed = hi;
  *late = nlate;
  return nw;
}

}  // extern "C"
