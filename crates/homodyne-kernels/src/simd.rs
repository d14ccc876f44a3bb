//! Run-time selection of the instruction set, and the macro that compiles a
//! kernel body once per instruction set (the safe dispatcher; the CPU
//! detection is in `simd/x86.rs`).
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

/// The widest instruction set the kernels may use.
///
/// The kernels are compiled once per level and chosen at run time, so a
/// default build (baseline x86-64) still runs AVX-512 code where the CPU has
/// it. The same type, detection rule and environment variable serve
/// `homodyne-angles`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum SimdLevel {
    /// Portable code for the compilation target only (SSE2 on x86-64).
    Portable,
    /// AVX2 with FMA, BMI1 and POPCNT (x86-64).
    Avx2,
    /// AVX-512 F/BW/CD/DQ/VL with AVX2, FMA, BMI1 and POPCNT (x86-64).
    Avx512,
    /// The best level this CPU supports.
    #[default]
    Auto,
}

impl SimdLevel {
    /// The best level this CPU supports, capped by the environment variable
    /// `HOMODYNE_SIMD` (`portable`, `avx2` or `avx512`; other values are
    /// ignored), read once per process: the level every kernel of this
    /// crate runs.
    pub fn detect() -> SimdLevel {
        static DETECTED: std::sync::OnceLock<SimdLevel> = std::sync::OnceLock::new();
        *DETECTED.get_or_init(|| {
            let cap = SimdLevel::from_env(std::env::var("HOMODYNE_SIMD").ok().as_deref());
            SimdLevel::supported().min(cap)
        })
    }

    /// The best level the CPU supports, without the environment's cap.
    fn supported() -> SimdLevel {
        #[cfg(target_arch = "x86_64")]
        {
            x86::supported()
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            SimdLevel::Portable
        }
    }

    /// The cap `HOMODYNE_SIMD` sets (`Avx512`, no cap, when unset or unknown).
    fn from_env(value: Option<&str>) -> SimdLevel {
        match value.map(str::trim) {
            Some("portable") => SimdLevel::Portable,
            Some("avx2") => SimdLevel::Avx2,
            _ => SimdLevel::Avx512,
        }
    }

    /// The level that will actually run: `self`, lowered to what
    /// [`detect`](Self::detect) allows.
    #[must_use]
    pub fn effective(self) -> SimdLevel {
        let detected = SimdLevel::detect();
        match self {
            SimdLevel::Auto => detected,
            requested => requested.min(detected),
        }
    }

    /// A short lower-case name (`portable`, `avx2`, `avx512`, `auto`), the
    /// values `HOMODYNE_SIMD` takes.
    pub fn name(self) -> &'static str {
        match self {
            SimdLevel::Portable => "portable",
            SimdLevel::Avx2 => "avx2",
            SimdLevel::Avx512 => "avx512",
            SimdLevel::Auto => "auto",
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86;

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
        [SimdLevel::Portable, SimdLevel::Avx2, SimdLevel::Avx512]
            .into_iter()
            .filter(|&level| level <= SimdLevel::supported())
            .map(Isa)
            .collect()
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
                // SAFETY: an `Isa` at this level exists only if `simd::x86::supported`
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

    #[test]
    fn effective_level_never_exceeds_the_detected_one() {
        let detected = SimdLevel::detect();
        assert_ne!(detected, SimdLevel::Auto);
        assert!(detected <= SimdLevel::supported());
        assert_eq!(SimdLevel::Auto.effective(), detected);
        for level in [SimdLevel::Portable, SimdLevel::Avx2, SimdLevel::Avx512] {
            assert_eq!(level.effective(), level.min(detected));
        }
        assert_eq!(Isa::available().last().map(|isa| isa.level()), Some(SimdLevel::supported()));
    }

    #[test]
    fn the_environment_caps_the_level_by_name() {
        for level in [SimdLevel::Portable, SimdLevel::Avx2, SimdLevel::Avx512] {
            assert_eq!(SimdLevel::from_env(Some(level.name())), level);
        }
        assert_eq!(SimdLevel::from_env(Some(" avx2\n")), SimdLevel::Avx2);
        assert_eq!(SimdLevel::from_env(None), SimdLevel::Avx512);
        assert_eq!(SimdLevel::from_env(Some("sse9")), SimdLevel::Avx512);
    }
}
