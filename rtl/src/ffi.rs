//! Declarations of the `extern "C"` shim in `rtl/shim/qkd_shim.cpp`.

use crate::hit::Hit;

#[repr(C)]
pub(crate) struct QkdPg {
    _private: [u8; 0],
}

#[repr(C)]
pub(crate) struct QkdTt {
    _private: [u8; 0],
}

extern "C" {
    pub(crate) fn qkd_uart_clks_per_bit() -> u32;

    pub(crate) fn qkd_pg_new() -> *mut QkdPg;
    pub(crate) fn qkd_pg_free(s: *mut QkdPg);
    pub(crate) fn qkd_pg_trace(s: *mut QkdPg, path: *const std::ffi::c_char) -> i32;
    pub(crate) fn qkd_pg_uart_push(s: *mut QkdPg, bytes: *const u8, n: usize);
    pub(crate) fn qkd_pg_uart_pending(s: *const QkdPg) -> usize;
    pub(crate) fn qkd_pg_uart_pop(s: *mut QkdPg, out: *mut u8, cap: usize) -> usize;
    pub(crate) fn qkd_pg_cycle(s: *const QkdPg) -> u64;
    pub(crate) fn qkd_pg_step(s: *mut QkdPg, n: u64, ext: *const u64, ext_valid: *const u8, slots: *mut u32) -> usize;

    pub(crate) fn qkd_tt_new() -> *mut QkdTt;
    pub(crate) fn qkd_tt_free(s: *mut QkdTt);
    pub(crate) fn qkd_tt_trace(s: *mut QkdTt, path: *const std::ffi::c_char) -> i32;
    pub(crate) fn qkd_tt_cycle(s: *const QkdTt) -> u64;
    pub(crate) fn qkd_tt_reg(s: *mut QkdTt, write: i32, addr: u8, wdata: u32, rdata: *mut u32) -> u8;
    pub(crate) fn qkd_tt_step(
        s: *mut QkdTt,
        n: u64,
        hits: *const Hit,
        n_hits: usize,
        out_ready: i32,
        words: *mut u32,
        consumed: *mut usize,
        late: *mut usize,
    ) -> usize;
}
