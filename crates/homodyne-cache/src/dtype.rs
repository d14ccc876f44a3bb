//! The element types of cached arrays: the crate's bottom module (the
//! codec, the values and the file format all use it; it uses none of them).

/// The element type of a cached array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    /// `f64`.
    F64,
    /// `f32`.
    F32,
    /// `i64`.
    I64,
    /// `u8`.
    U8,
    /// `i32`.
    I32,
    /// `u16` (detector counts).
    U16,
    /// `u32`.
    U32,
}

impl DType {
    /// Every dtype, in the order of their codes in cache files.
    pub const ALL: [DType; 7] = [DType::F64, DType::F32, DType::I64, DType::U8, DType::I32, DType::U16, DType::U32];

    /// The dtype's code in cache files (1 to 7).
    pub fn code(self) -> u8 {
        match self {
            DType::F64 => 1,
            DType::F32 => 2,
            DType::I64 => 3,
            DType::U8 => 4,
            DType::I32 => 5,
            DType::U16 => 6,
            DType::U32 => 7,
        }
    }

    /// The dtype of a code, or `None` for an unknown code.
    pub fn from_code(code: u8) -> Option<DType> {
        DType::ALL.into_iter().find(|dtype| dtype.code() == code)
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::F64 | DType::I64 => 8,
            DType::F32 | DType::I32 | DType::U32 => 4,
            DType::U16 => 2,
            DType::U8 => 1,
        }
    }

    /// The most axes a cached array may have: numpy's limit (32 before
    /// numpy 2.0, which raised it to 64), so that every cached array can be
    /// handed to numpy.
    pub const MAX_AXES: usize = 32;

    /// The bytes of an array of this dtype and `shape`, or `None` when no
    /// array of that shape can exist: more than [`MAX_AXES`](Self::MAX_AXES)
    /// axes, or the product of its non-zero extents times the element size
    /// beyond `isize::MAX` (numpy refuses such a shape even when another
    /// extent is 0). Sizes read from files and arrays from Python are
    /// checked with it before anything is allocated.
    pub fn array_bytes(self, shape: &[usize]) -> Option<usize> {
        array_bytes(self.size(), shape)
    }

    /// numpy's name of the dtype (`"float64"`, `"uint16"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DType::F64 => "float64",
            DType::F32 => "float32",
            DType::I64 => "int64",
            DType::U8 => "uint8",
            DType::I32 => "int32",
            DType::U16 => "uint16",
            DType::U32 => "uint32",
        }
    }
}

impl std::fmt::Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A numeric element that can be turned into little-endian bytes and back.
pub trait Element: Copy + Default + Send + Sync + 'static {
    /// Its dtype.
    const DTYPE: DType;
    /// Writes `values` as little-endian bytes into `out` (exactly `values.len() * size` bytes).
    fn write_le(values: &[Self], out: &mut [u8]);
    /// Reads little-endian bytes into `out` (exactly `out.len() * size` bytes).
    fn read_le(bytes: &[u8], out: &mut [Self]);
    /// The element's little-endian bytes as the low bytes of a `u64`.
    fn to_word(self) -> u64;
    /// Inverse of [`to_word`](Element::to_word).
    fn from_word(word: u64) -> Self;
}

macro_rules! element {
    ($type:ty, $dtype:ident, $size:literal, $to_word:expr, $from_word:expr) => {
        impl Element for $type {
            const DTYPE: DType = DType::$dtype;

            fn write_le(values: &[Self], out: &mut [u8]) {
                for (value, bytes) in values.iter().zip(out.chunks_exact_mut($size)) {
                    bytes.copy_from_slice(&value.to_le_bytes());
                }
            }

            fn read_le(bytes: &[u8], out: &mut [Self]) {
                for (value, chunk) in out.iter_mut().zip(bytes.chunks_exact($size)) {
                    let mut array = [0u8; $size];
                    array.copy_from_slice(chunk);
                    *value = <$type>::from_le_bytes(array);
                }
            }

            fn to_word(self) -> u64 {
                $to_word(self)
            }

            fn from_word(word: u64) -> Self {
                $from_word(word)
            }
        }
    };
}

element!(f64, F64, 8, f64::to_bits, f64::from_bits);
element!(f32, F32, 4, |value: f32| u64::from(value.to_bits()), |word: u64| f32::from_bits(word as u32));
element!(i64, I64, 8, |value: i64| value as u64, |word: u64| word as i64);
element!(u8, U8, 1, u64::from, |word: u64| word as u8);
element!(i32, I32, 4, |value: i32| u64::from(value as u32), |word: u64| word as u32 as i32);
element!(u16, U16, 2, u64::from, |word: u64| word as u16);
element!(u32, U32, 4, u64::from, |word: u64| word as u32);

/// [`DType::array_bytes`] for elements of `itemsize` bytes (any numpy
/// dtype): the one rule for which shapes an array can have, used on sizes
/// read from files and on arrays from Python.
pub fn array_bytes(itemsize: usize, shape: &[usize]) -> Option<usize> {
    if shape.len() > DType::MAX_AXES {
        return None;
    }
    let nonzero = shape
        .iter()
        .filter(|&&extent| extent != 0)
        .try_fold(itemsize, |product, &extent| product.checked_mul(extent))
        .filter(|&bytes| isize::try_from(bytes).is_ok())?;
    Some(if shape.contains(&0) { 0 } else { nonzero })
}
