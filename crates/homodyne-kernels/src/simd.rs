//! Run-time selection of the instruction set, and the macro that compiles a
//! kernel body once per instruction set: the safe dispatcher. [`SimdLevel`]
//! and the CPU detection are `homodyne-simd`'s, shared with `homodyne-angles`.
//!
//! A default build targets baseline x86-64 (SSE2, no FMA), which loses to
//! numba's host-compiled code by several times. Each kernel body is therefore
//! written once, generically over 16-lane arrays that LLVM vectorises, and
//! `multiversion!` compiles it three times: portable,
//! AVX2 + FMA and AVX-512 + FMA. [`Isa`] picks one at run time. The FMA
//! copies use fused multiply-adds; the portable copy uses separate
//! multiplications and additions (a software `fma` would be slow there), so
//! the copies agree to rounding, not bit for bit. The `unsafe` of run-time
//! dispatch is in the macro's expansions (a call into a `#[target_feature]`
//! copy, made only with an [`Isa`] of that level) and in
//! `objective/avx512.rs` (the hand-written AVX-512 kernel and its dispatcher).

/// Lanes of the accumulator arrays in the kernels: two AVX-512 vectors or
/// four AVX2 vectors, enough independent chains to hide the latency of
/// floating-point additions.
pub(crate) const LANES: usize = 16;

pub use homodyne_simd::SimdLevel;

/// An instruction-set level this CPU is known to support. The field is
/// private: the constructors check the CPU, which is what makes the calls into
/// `#[target_feature]` code sound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Isa(SimdLevel);

impl Isa {
    /// The level of [`SimdLevel::detect`].
    pub(crate) fn detect() -> Isa {
        Isa(SimdLevel::detect())
    }

    /// Every level this CPU supports, portable first (tests run each one,
    /// whatever `HOMODYNE_SIMD` says).
    #[cfg_attr(not(test), expect(dead_code, reason = "the unit tests' list of levels"))]
    pub(crate) fn available() -> Vec<Isa> {
        SimdLevel::available().into_iter().map(Isa).collect()
    }

    /// The portable level, available everywhere.
    #[cfg_attr(not(test), expect(dead_code, reason = "the unit tests' reference level"))]
    pub(crate) fn portable() -> Isa {
        Isa(SimdLevel::Portable)
    }

    pub(crate) fn level(self) -> SimdLevel {
        self.0
    }
}

/// `a * b + c`, fused where the instruction set has FMA.
#[inline(always)]
pub(crate) fn mul_add<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// Defines `fn name(isa: Isa, args...) -> ret` that runs `body` compiled for
/// the instruction set `isa`. Inside `body`, the const generic `FMA` says
/// whether [`mul_add`] may fuse.
macro_rules! multiversion {
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident($($arg:ident : $ty:ty),* $(,)?) -> $ret:ty $body:block
    ) => {
        $(#[$meta])*
        // `allow`, not `expect`, in this macro: whether a lint fires depends
        // on the expansion (`too_many_arguments` only beyond seven).
        #[allow(unsafe_code)]
        $vis fn $name(isa: $crate::simd::Isa, $($arg: $ty),*) -> $ret {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn generic<const FMA: bool>($($arg: $ty),*) -> $ret $body

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma,bmi1,popcnt")]
            #[allow(clippy::too_many_arguments)]
            fn avx2($($arg: $ty),*) -> $ret {
                generic::<true>($($arg),*)
            }

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx512bw,avx512cd,avx512dq,avx512vl,avx2,fma,bmi1,popcnt")]
            #[allow(clippy::too_many_arguments)]
            fn avx512($($arg: $ty),*) -> $ret {
                generic::<true>($($arg),*)
            }

            match isa.level() {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: an `Isa` at this level exists only if `SimdLevel::supported`
                // found AVX-512 F/BW/CD/DQ/VL, AVX2, FMA, BMI1 and POPCNT on this CPU
                // at run time: the features this copy enables.
                $crate::simd::SimdLevel::Avx512 => unsafe { avx512($($arg),*) },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: as above, for AVX2, FMA, BMI1 and POPCNT.
                $crate::simd::SimdLevel::Avx2 => unsafe { avx2($($arg),*) },
                _ => generic::<false>($($arg),*),
            }
        }
    };
}

pub(crate) use multiversion;

#[cfg(test)]
mod tests {
    use super::*;

    /// The macro's copies enable exactly the features the shared detection rule checks.
    #[test]
    fn the_copies_enable_the_levels_features() {
        let levels: Vec<SimdLevel> = Isa::available().into_iter().map(Isa::level).collect();
        assert_eq!(levels, SimdLevel::available());
        assert!(include_str!("simd.rs").contains(&format!("enable = \"{}\"", SimdLevel::AVX512_FEATURES)));
        assert!(include_str!("simd.rs").contains(&format!("enable = \"{}\"", SimdLevel::AVX2_FEATURES)));
    }
}
