//! Run-time selection of the instruction set, and the macro that compiles a
//! kernel body once per instruction set.
//!
//! A default build targets baseline x86-64 (SSE2, no FMA), which loses to
//! numba's host-compiled code by several times. Each kernel body is therefore
//! written once, generically over 16-lane arrays that LLVM vectorises, and
//! `multiversion!` compiles it three times: portable,
//! AVX2 + FMA and AVX-512 + FMA. [`Isa`] picks one at run time. The FMA
//! copies use fused multiply-adds; the portable copy uses separate
//! multiplications and additions (a software `fma` would be slow there), so
//! the copies agree to rounding, not bit for bit. This module and the
//! macro's expansions hold the crate's only `unsafe`.

/// Lanes of the accumulator arrays in the kernels: two AVX-512 vectors or
/// four AVX2 vectors, enough independent chains to hide the latency of
/// floating-point additions.
pub(crate) const LANES: usize = 16;

/// An instruction-set level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    Portable,
    Avx2,
    Avx512,
}

/// An instruction-set level this CPU is known to support. The field is
/// private: the constructors check the CPU, which is what makes the calls into
/// `#[target_feature]` code sound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Isa(Level);

impl Isa {
    /// The best level this CPU supports, capped by the environment variable
    /// `HOMODYNE_SIMD` (`portable`, `avx2` or `avx512`) when it is set, for
    /// comparing the compiled copies on one machine. Read once per process.
    pub(crate) fn detect() -> Isa {
        static DETECTED: std::sync::OnceLock<Isa> = std::sync::OnceLock::new();
        *DETECTED.get_or_init(|| {
            let cap = match std::env::var("HOMODYNE_SIMD").as_deref() {
                Ok("portable") => Level::Portable,
                Ok("avx2") => Level::Avx2,
                _ => Level::Avx512,
            };
            Isa::available().into_iter().rev().find(|isa| isa.0 <= cap).unwrap_or(Isa(Level::Portable))
        })
    }

    /// Every level this CPU supports, portable first (tests run each one).
    pub(crate) fn available() -> Vec<Isa> {
        let mut levels = vec![Isa(Level::Portable)];
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx2") && has!("fma") {
                levels.push(Isa(Level::Avx2));
                if has!("avx512f") && has!("avx512dq") && has!("avx512vl") && has!("avx512bw") {
                    levels.push(Isa(Level::Avx512));
                }
            }
        }
        levels
    }

    /// The portable level, available everywhere.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn portable() -> Isa {
        Isa(Level::Portable)
    }

    pub(crate) fn level(self) -> Level {
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
        #[allow(unsafe_code)]
        $vis fn $name(isa: $crate::simd::Isa, $($arg: $ty),*) -> $ret {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn generic<const FMA: bool>($($arg: $ty),*) -> $ret $body

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            #[allow(clippy::too_many_arguments)]
            fn avx2($($arg: $ty),*) -> $ret {
                generic::<true>($($arg),*)
            }

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw,avx2,fma")]
            #[allow(clippy::too_many_arguments)]
            fn avx512($($arg: $ty),*) -> $ret {
                generic::<true>($($arg),*)
            }

            match isa.level() {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: an `Isa` at this level exists only if `Isa::available`
                // found AVX-512 F/DQ/VL/BW, AVX2 and FMA on this CPU at run time.
                $crate::simd::Level::Avx512 => unsafe { avx512($($arg),*) },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: as above, for AVX2 and FMA.
                $crate::simd::Level::Avx2 => unsafe { avx2($($arg),*) },
                _ => generic::<false>($($arg),*),
            }
        }
    };
}

pub(crate) use multiversion;
