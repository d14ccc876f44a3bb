//! x86-64: which instruction-set level this CPU supports.

use super::SimdLevel;

/// The best level this CPU supports. The rule is the same in
/// `homodyne-angles`: AVX-512 needs F, BW, CD, DQ and VL with AVX2, FMA,
/// BMI1 and POPCNT; AVX2 needs FMA, BMI1 and POPCNT; the `#[target_feature]`
/// lists of `multiversion!` enable exactly these.
pub(super) fn supported() -> SimdLevel {
    use std::arch::is_x86_feature_detected as has;
    let avx2 = has!("avx2") && has!("fma") && has!("bmi1") && has!("popcnt");
    let avx512 = has!("avx512f") && has!("avx512bw") && has!("avx512cd") && has!("avx512dq") && has!("avx512vl");
    match (avx2, avx512) {
        (true, true) => SimdLevel::Avx512,
        (true, false) => SimdLevel::Avx2,
        _ => SimdLevel::Portable,
    }
}
