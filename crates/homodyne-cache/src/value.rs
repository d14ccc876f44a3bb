//! What the cache stores: numeric arrays, through two small traits.

use ndarray::{ArrayBase, Dimension, IxDyn, OwnedRepr};

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
}

impl DType {
    pub(crate) fn code(self) -> u8 {
        match self {
            DType::F64 => 1,
            DType::F32 => 2,
            DType::I64 => 3,
            DType::U8 => 4,
        }
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::F64 | DType::I64 => 8,
            DType::F32 => 4,
            DType::U8 => 1,
        }
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

/// A value the cache can hold: an owned numeric array of any dimension, or a
/// `Vec` of numbers. The cache stores it as is (a raw hit returns the same
/// `Arc`) or as compressed bytes.
pub trait CacheValue: Send + Sync + Sized + 'static {
    /// The element type.
    type Elem: Element;

    /// The shape (a `Vec` has one axis).
    fn shape(&self) -> Vec<usize>;

    /// The elements in logical (row-major) order, as a slice when contiguous.
    fn elements(&self) -> std::borrow::Cow<'_, [Self::Elem]>;

    /// Builds the value from its shape and row-major elements, or `None` if
    /// the shape does not fit this type (wrong number of axes or elements).
    fn from_elements(shape: &[usize], elements: Vec<Self::Elem>) -> Option<Self>;

    /// Size of the elements in bytes.
    fn byte_len(&self) -> usize {
        self.shape().iter().product::<usize>() * Self::Elem::DTYPE.size()
    }
}

impl<T: Element> CacheValue for Vec<T> {
    type Elem = T;

    fn shape(&self) -> Vec<usize> {
        vec![self.len()]
    }

    fn elements(&self) -> std::borrow::Cow<'_, [T]> {
        std::borrow::Cow::Borrowed(self)
    }

    fn from_elements(shape: &[usize], elements: Vec<T>) -> Option<Self> {
        (shape == [elements.len()]).then_some(elements)
    }
}

impl<T: Element, D: Dimension + 'static> CacheValue for ArrayBase<OwnedRepr<T>, D> {
    type Elem = T;

    fn shape(&self) -> Vec<usize> {
        self.shape().to_vec()
    }

    fn elements(&self) -> std::borrow::Cow<'_, [T]> {
        match self.as_slice() {
            Some(slice) => std::borrow::Cow::Borrowed(slice),
            None => std::borrow::Cow::Owned(self.iter().copied().collect()),
        }
    }

    fn from_elements(shape: &[usize], elements: Vec<T>) -> Option<Self> {
        let dynamic = ndarray::Array::from_shape_vec(IxDyn(shape), elements).ok()?;
        dynamic.into_dimensionality::<D>().ok()
    }
}
