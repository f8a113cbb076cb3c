//! Copying frame payloads. Most frames are small, and for them a call into
//! libc's `memcpy` (which dispatches on size at run time) costs more than the
//! copy: up to 32 bytes are moved here with two overlapping loads and stores.

/// Copies `src` into `dst`, which must have the same length.
///
/// # Panics
///
/// If the lengths differ.
#[inline(always)]
pub fn copy(dst: &mut [u8], src: &[u8]) {
    assert_eq!(
        dst.len(),
        src.len(),
        "copy between slices of different lengths"
    );
    // SAFETY: `dst` is `src.len()` writable bytes (asserted), and a `&mut`
    // never overlaps a `&`.
    unsafe { copy_to(dst.as_mut_ptr(), src) }
}

/// [`copy`] to a pointer: no length check, so nothing between a caller's
/// claim and its publish can panic (a claim kept for an unwinding path is
/// kept in memory, not in registers).
///
/// # Safety
/// `d` is valid for `src.len()` byte writes and does not overlap `src`.
#[inline(always)]
pub unsafe fn copy_to(d: *mut u8, src: &[u8]) {
    let (n, s) = (src.len(), src.as_ptr());
    // Each size class makes two (unaligned) accesses, at 0 and `n - width`,
    // with `width <= n`.
    // SAFETY: every read stays within `src`, every write within the `n`
    // bytes at `d` (the caller's promise).
    unsafe {
        match n {
            0 => {}
            1..=3 => {
                *d = *s;
                *d.add(n / 2) = *s.add(n / 2);
                *d.add(n - 1) = *s.add(n - 1);
            }
            4..=7 => {
                let a = s.cast::<u32>().read_unaligned();
                let b = s.add(n - 4).cast::<u32>().read_unaligned();
                d.cast::<u32>().write_unaligned(a);
                d.add(n - 4).cast::<u32>().write_unaligned(b);
            }
            8..=15 => {
                let a = s.cast::<u64>().read_unaligned();
                let b = s.add(n - 8).cast::<u64>().read_unaligned();
                d.cast::<u64>().write_unaligned(a);
                d.add(n - 8).cast::<u64>().write_unaligned(b);
            }
            16..=32 => {
                let a = s.cast::<u128>().read_unaligned();
                let b = s.add(n - 16).cast::<u128>().read_unaligned();
                d.cast::<u128>().write_unaligned(a);
                d.add(n - 16).cast::<u128>().write_unaligned(b);
            }
            _ => std::ptr::copy_nonoverlapping(s, d, n),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_small_size_copies_exactly() {
        for n in 0..80 {
            let src: Vec<u8> = (0..n as u8)
                .map(|b| b.wrapping_mul(37).wrapping_add(1))
                .collect();
            let mut dst = vec![0u8; n];
            super::copy(&mut dst, &src);
            assert_eq!(dst, src, "size {n}");
        }
    }
}
