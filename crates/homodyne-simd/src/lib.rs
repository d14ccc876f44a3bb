//! The instruction-set vocabulary shared by `homodyne-angles` and
//! `homodyne-kernels`: which SIMD level a kernel may use ([`SimdLevel`]),
//! the one rule that decides which levels this CPU supports, and the one
//! environment variable, `HOMODYNE_SIMD`, that caps it for both.
//!
//! It also holds the workspace's one pseudo-random stream, [`unit_draw`]
//! (SplitMix64): synthetic data for calibration and the fit's multistart
//! must be the same on every toolchain, which the standard library's
//! hashers do not promise.
//!
//! Use it to ask which level the homodyne-rs kernels run
//! ([`SimdLevel::detect`]), or to request a lower one where a crate takes a
//! level. The numeric crates compile each kernel once per level and choose
//! at run time; they stay independent of each other and depend only on
//! this vocabulary.
//!
//! # Example
//!
//! ```
//! use homodyne_simd::SimdLevel;
//!
//! let detected = SimdLevel::detect(); // e.g. Avx512 on a CPU with AVX-512
//! assert_ne!(detected, SimdLevel::Auto);
//! assert!(SimdLevel::Avx2.effective() <= detected);
//! assert_eq!(SimdLevel::Auto.effective(), detected);
//! assert_eq!(SimdLevel::Avx2.name(), "avx2");
//! ```
//!
//! # Environment
//!
//! `HOMODYNE_SIMD=portable|avx2|avx512` caps the level (read once per
//! process); other values are ignored.
//!
//! # Crate features
//!
//! None.
#![forbid(unsafe_code)]

use std::sync::OnceLock;

/// Draw `index` of the stream `seed`, uniform in `[0, 1)`: SplitMix64's
/// output for the state `seed + (index + 1) * 0x9E37_79B9_7F4A_7C15` (the
/// same numbers as the sequential generator started at `seed`), so any
/// draw can be made alone, on any thread, with the same result everywhere.
pub fn unit_draw(seed: u64, index: u64) -> f64 {
    const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut z = seed.wrapping_add(index.wrapping_add(1).wrapping_mul(GOLDEN));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    // The top 53 bits give a uniform double in [0, 1).
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

/// The widest instruction set a kernel may use.
///
/// The kernels are compiled once per level and chosen at run time, so a
/// default build (baseline x86-64) still runs AVX-512 code where the CPU has
/// it. A level the CPU lacks is lowered to the best one it has.
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
    /// The `#[target_feature]` list of the AVX2 level: what
    /// [`supported`](Self::supported) checks for it.
    pub const AVX2_FEATURES: &str = "avx2,fma,bmi1,popcnt";

    /// The `#[target_feature]` list of the AVX-512 level.
    pub const AVX512_FEATURES: &str = "avx512f,avx512bw,avx512cd,avx512dq,avx512vl,avx2,fma,bmi1,popcnt";

    /// The best level this CPU supports, capped by `HOMODYNE_SIMD`
    /// (`portable`, `avx2` or `avx512`; other values are ignored), read once
    /// per process: the level the kernels of both numeric crates run.
    pub fn detect() -> SimdLevel {
        static DETECTED: OnceLock<SimdLevel> = OnceLock::new();
        *DETECTED.get_or_init(|| {
            let cap = SimdLevel::from_env(std::env::var("HOMODYNE_SIMD").ok().as_deref());
            SimdLevel::supported().min(cap)
        })
    }

    /// The best level the CPU supports, whatever `HOMODYNE_SIMD` says (tests
    /// run every such level). Under Valgrind, which does not emulate
    /// AVX-512, this is AVX2.
    pub fn supported() -> SimdLevel {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            let avx2 = has!("avx2") && has!("fma") && has!("bmi1") && has!("popcnt");
            let avx512 =
                has!("avx512f") && has!("avx512bw") && has!("avx512cd") && has!("avx512dq") && has!("avx512vl");
            match (avx2, avx512) {
                (true, true) => SimdLevel::Avx512,
                (true, false) => SimdLevel::Avx2,
                _ => SimdLevel::Portable,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            SimdLevel::Portable
        }
    }

    /// The cap a value of `HOMODYNE_SIMD` sets (`Avx512`, no cap, when it
    /// is unset or unknown).
    pub fn from_env(value: Option<&str>) -> SimdLevel {
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

    /// Every level this CPU supports, portable first.
    pub fn available() -> Vec<SimdLevel> {
        [SimdLevel::Portable, SimdLevel::Avx2, SimdLevel::Avx512]
            .into_iter()
            .filter(|&level| level <= SimdLevel::supported())
            .collect()
    }

    /// A short lower-case name (`portable`, `avx2`, `avx512`, `auto`): the
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

#[cfg(test)]
mod tests {
    use super::*;

    /// SplitMix64's published first outputs from seed 0, and the draws as
    /// the sequential generator gives them.
    #[test]
    fn draws_are_splitmix64() {
        let unit = |word: u64| (word >> 11) as f64 / (1u64 << 53) as f64;
        assert_eq!(unit_draw(0, 0), unit(0xE220_A839_7B1D_CDAF));
        assert_eq!(unit_draw(0, 1), unit(0x6E78_9E6A_A1B9_65F4));
        let mut state = 42u64;
        for index in 0..1000 {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            assert_eq!(unit_draw(42, index), unit(z ^ (z >> 31)));
        }
        assert!((0..10_000).map(|index| unit_draw(7, index)).all(|u| (0.0..1.0).contains(&u)));
    }

    #[test]
    fn effective_level_never_exceeds_the_detected_one() {
        let detected = SimdLevel::detect();
        assert_ne!(detected, SimdLevel::Auto);
        assert!(detected <= SimdLevel::supported());
        assert_eq!(SimdLevel::Auto.effective(), detected);
        for level in [SimdLevel::Portable, SimdLevel::Avx2, SimdLevel::Avx512] {
            assert_eq!(level.effective(), level.min(detected));
        }
        assert_eq!(SimdLevel::available().first(), Some(&SimdLevel::Portable));
        assert_eq!(SimdLevel::available().last(), Some(&SimdLevel::supported()));
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

    /// The feature lists name exactly what `supported` checks.
    #[test]
    fn the_feature_lists_match_the_detection_rule() {
        let source = include_str!("lib.rs");
        for feature in SimdLevel::AVX512_FEATURES.split(',') {
            assert!(source.contains(&format!("has!(\"{feature}\")")), "{feature} is not detected");
        }
        assert!(SimdLevel::AVX512_FEATURES.ends_with(SimdLevel::AVX2_FEATURES));
    }
}
