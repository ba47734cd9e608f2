//! The filter's heap: small blocks are kept on one free list per size and handed out again.
//!
//! A request allocates and frees a few dozen small blocks (header values, the record's strings,
//! the audit line). The general allocator under it (`dlmalloc` in wasm32) looks for a fitting
//! chunk across its bins, splits and merges chunks, and so runs through several kilobytes of
//! code and touches chunk headers all over the heap. Here a block of up to [`LARGEST`] bytes is
//! taken from, and given back to, the list of its size class: a shift, a load and a store. The
//! blocks of the last request are the first ones the next request gets, so they are still in the
//! caches.
//!
//! Blocks on the lists are never returned to the allocator underneath: the heap holds, per size,
//! as many blocks as were ever live at once. Sizes are rounded up to a power of two from 16.
//! Larger or more aligned requests go to the allocator underneath unchanged.
//!
//! The lists are not synchronised: [`SmallBlocks`] is `Sync` only where there are no threads
//! (wasm32 without the `atomics` feature, which is how the filter is built).

use std::alloc::{GlobalAlloc, Layout};
use std::cell::UnsafeCell;
use std::ptr;

/// The smallest block, and the alignment of every block from the lists.
const SMALLEST: usize = 16;
/// The number of size classes: 16, 32, 64, 128, 256, 512, 1024 bytes.
const CLASSES: usize = 7;
/// The largest block kept on a list.
pub const LARGEST: usize = SMALLEST << (CLASSES - 1);

/// Free lists of small blocks in front of the allocator `A`.
pub struct SmallBlocks<A> {
    inner: A,
    /// The first free block of each class; each free block holds the address of the next.
    free: UnsafeCell<[*mut u8; CLASSES]>,
}

// SAFETY: without threads no two calls can run at once, so the lists are never shared.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
unsafe impl<A: Sync> Sync for SmallBlocks<A> {}

/// The class of a layout, or `None` when it goes to the allocator underneath.
#[inline(always)]
fn class(layout: Layout) -> Option<usize> {
    let size = layout.size();
    if size > LARGEST || layout.align() > SMALLEST {
        return None;
    }
    // 1..=16 -> 0, 17..=32 -> 1, ..., 513..=1024 -> 6.
    let bits = usize::BITS - (size.max(1) - 1).leading_zeros();
    Some((bits as usize).saturating_sub(4))
}

impl<A> SmallBlocks<A> {
    pub const fn new(inner: A) -> Self {
        SmallBlocks { inner, free: UnsafeCell::new([ptr::null_mut(); CLASSES]) }
    }
}

impl<A: GlobalAlloc> SmallBlocks<A> {
    /// The layout a block of class `c` has in the allocator underneath.
    #[inline(always)]
    fn block(c: usize) -> Layout {
        // SAFETY: a power of two from 16 to 1024, aligned to 16.
        unsafe { Layout::from_size_align_unchecked(SMALLEST << c, SMALLEST) }
    }
}

// SAFETY: every block handed out is either fresh from `inner` with a layout at least as large
// and as aligned as asked, or a block of the same class given back earlier and not handed out
// since; `dealloc` and `realloc` find the class from the caller's layout, as `alloc` did.
unsafe impl<A: GlobalAlloc> GlobalAlloc for SmallBlocks<A> {
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(c) = class(layout) else {
            return unsafe { self.inner.alloc(layout) };
        };
        // SAFETY: no other call runs at the same time (see the `Sync` impl).
        let free = unsafe { &mut *self.free.get() };
        let head = free[c];
        if head.is_null() {
            return unsafe { self.inner.alloc(Self::block(c)) };
        }
        // SAFETY: `head` is a free block of this class, at least 16 bytes, holding the next one.
        free[c] = unsafe { head.cast::<*mut u8>().read() };
        head
    }

    #[inline(never)]
    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        let Some(c) = class(layout) else {
            return unsafe { self.inner.dealloc(block, layout) };
        };
        // SAFETY: as in `alloc`; the block is ours again and large enough for the link.
        let free = unsafe { &mut *self.free.get() };
        unsafe { block.cast::<*mut u8>().write(free[c]) };
        free[c] = block;
    }

    #[inline(never)]
    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size` with this alignment is a valid layout.
        let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (class(layout), class(new)) {
            (Some(a), Some(b)) if a == b => block,
            (None, None) => unsafe { self.inner.realloc(block, layout, new_size) },
            _ => {
                let moved = unsafe { self.alloc(new) };
                if !moved.is_null() {
                    // SAFETY: both blocks are live and hold at least the smaller of the two sizes.
                    unsafe {
                        ptr::copy_nonoverlapping(block, moved, layout.size().min(new_size));
                        self.dealloc(block, layout);
                    }
                }
                moved
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::alloc::System;

    #[test]
    fn classes() {
        let l = |size, align| Layout::from_size_align(size, align).unwrap();
        assert_eq!(class(l(1, 1)), Some(0));
        assert_eq!(class(l(16, 8)), Some(0));
        assert_eq!(class(l(17, 1)), Some(1));
        assert_eq!(class(l(32, 16)), Some(1));
        assert_eq!(class(l(513, 4)), Some(6));
        assert_eq!(class(l(LARGEST, 1)), Some(6));
        assert_eq!(class(l(LARGEST + 1, 1)), None);
        assert_eq!(class(l(8, 32)), None);
    }

    /// Random allocations, growths, shrinks and frees, each block filled with its own byte and
    /// checked before it changes: a block handed out twice, or moved without its bytes, shows.
    #[test]
    fn blocks_keep_their_bytes() {
        let heap = SmallBlocks::new(System);
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut live: Vec<(*mut u8, Layout, u8)> = Vec::new();
        let check = |p: *mut u8, l: Layout, fill: u8| {
            assert_eq!(p as usize % l.align(), 0);
            let bytes = unsafe { std::slice::from_raw_parts(p, l.size()) };
            assert!(bytes.iter().all(|&b| b == fill), "a block lost its bytes");
        };
        for step in 0..200_000u32 {
            let r = next();
            let size = match r % 10 {
                0 => 1 + (r >> 8) as usize % 4000,
                _ => 1 + (r >> 8) as usize % 600,
            };
            let align = [1, 2, 4, 8, 16, 32][(r >> 40) as usize % 6];
            match (r >> 50) % 4 {
                0 | 1 if live.len() < 400 => {
                    let l = Layout::from_size_align(size, align).unwrap();
                    let p = unsafe { heap.alloc(l) };
                    assert!(!p.is_null());
                    let fill = step as u8;
                    unsafe { p.write_bytes(fill, size) };
                    live.push((p, l, fill));
                }
                2 if !live.is_empty() => {
                    let (p, l, fill) = live.swap_remove((r >> 20) as usize % live.len());
                    check(p, l, fill);
                    let q = unsafe { heap.realloc(p, l, size) };
                    assert!(!q.is_null());
                    let nl = Layout::from_size_align(size, l.align()).unwrap();
                    check(q, Layout::from_size_align(size.min(l.size()), l.align()).unwrap(), fill);
                    unsafe { q.write_bytes(fill, size) };
                    live.push((q, nl, fill));
                }
                _ if !live.is_empty() => {
                    let (p, l, fill) = live.swap_remove((r >> 20) as usize % live.len());
                    check(p, l, fill);
                    unsafe { heap.dealloc(p, l) };
                }
                _ => {}
            }
        }
        for (p, l, fill) in live {
            check(p, l, fill);
            unsafe { heap.dealloc(p, l) };
        }
    }

    /// The blocks of one request are the next request's: the same addresses come back.
    #[test]
    fn freed_blocks_come_back_first() {
        let heap = SmallBlocks::new(System);
        let l = Layout::from_size_align(40, 8).unwrap();
        let a = unsafe { heap.alloc(l) };
        let b = unsafe { heap.alloc(l) };
        unsafe {
            heap.dealloc(a, l);
            heap.dealloc(b, l);
        }
        assert_eq!(unsafe { heap.alloc(l) }, b);
        assert_eq!(unsafe { heap.alloc(Layout::from_size_align(60, 4).unwrap()) }, a);
    }
}
