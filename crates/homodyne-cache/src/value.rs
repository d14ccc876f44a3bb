//! What the cache stores: numeric arrays, through two small traits, and
//! [`AnyArray`] for caches that hold arrays of several dtypes.

use std::borrow::Cow;

use ndarray::{ArrayBase, ArrayD, Dimension, IxDyn, OwnedRepr};

use crate::codec::{self, Compressed};
use crate::dtype::{DType, Element};

/// Raw elements are converted to and from little-endian bytes this many
/// bytes at a time when a value is written or read (a multiple of every
/// element size).
const IO_CHUNK_BYTES: usize = 64 * 1024;

/// A value the cache can hold: an owned numeric array of any dimension, a
/// `Vec` of numbers, or an [`AnyArray`]. The cache stores it as is (a raw
/// hit returns the same `Arc`) or as compressed bytes, and writes it to disk
/// as little-endian bytes; these methods are how it does so.
pub trait CacheValue: Send + Sync + Sized + 'static {
    /// The element type of this value.
    fn dtype(&self) -> DType;

    /// The shape (a `Vec` has one axis).
    fn shape(&self) -> Vec<usize>;

    /// Size of the elements in bytes.
    fn byte_len(&self) -> usize {
        self.shape().iter().product::<usize>() * self.dtype().size()
    }

    /// Whether an array of `dtype` with `ndim` axes can become a `Self`
    /// (asked before a file's payload is read).
    fn accepts(dtype: DType, ndim: usize) -> bool;

    /// Compresses the value at `level`, or `None` when compression does not
    /// pay (see [`compress`](crate::compress)).
    fn compress(&self, level: u32) -> Option<Compressed>;

    /// The value of `shape` from its compressed bytes, or `None` if they are
    /// damaged or of another dtype, size or rank.
    fn decompress(shape: &[usize], compressed: &Compressed) -> Option<Self>;

    /// Hands the elements, in row-major order as little-endian bytes, to
    /// `sink`, a bounded chunk at a time.
    fn write_le<E>(&self, sink: impl FnMut(&[u8]) -> Result<(), E>) -> Result<(), E>;

    /// Builds a value of `dtype` and `shape` from little-endian bytes that
    /// `source` fills a bounded chunk at a time; `Ok(None)` if such a value
    /// cannot be a `Self` (nothing is read then).
    fn read_le<E>(
        dtype: DType,
        shape: &[usize],
        source: impl FnMut(&mut [u8]) -> Result<(), E>,
    ) -> Result<Option<Self>, E>;
}

/// The number of elements of `shape`, or `None` on overflow.
fn element_count(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |product, &length| product.checked_mul(length))
}

fn write_elements<T: Element, E>(elements: &[T], mut sink: impl FnMut(&[u8]) -> Result<(), E>) -> Result<(), E> {
    let size = T::DTYPE.size();
    let mut buffer = vec![0u8; IO_CHUNK_BYTES.min(elements.len() * size)];
    for chunk in elements.chunks(IO_CHUNK_BYTES / size) {
        let bytes = &mut buffer[..chunk.len() * size];
        T::write_le(chunk, bytes);
        sink(bytes)?;
    }
    Ok(())
}

fn read_elements<T: Element, E>(n: usize, mut source: impl FnMut(&mut [u8]) -> Result<(), E>) -> Result<Vec<T>, E> {
    let size = T::DTYPE.size();
    let mut elements = vec![T::default(); n];
    let mut buffer = vec![0u8; IO_CHUNK_BYTES.min(n * size)];
    for chunk in elements.chunks_mut(IO_CHUNK_BYTES / size) {
        let bytes = &mut buffer[..chunk.len() * size];
        source(bytes)?;
        T::read_le(bytes, chunk);
    }
    Ok(elements)
}

fn decompress_elements<T: Element>(shape: &[usize], compressed: &Compressed) -> Option<Vec<T>> {
    codec::decompress::<T>(compressed, element_count(shape)?)
}

fn array_elements<T: Element, D: Dimension>(array: &ArrayBase<OwnedRepr<T>, D>) -> Cow<'_, [T]> {
    match array.as_slice() {
        Some(slice) => Cow::Borrowed(slice),
        // Iteration is in logical (row-major) order whatever the strides.
        None => Cow::Owned(array.iter().copied().collect()),
    }
}

fn array_from<T: Element, D: Dimension>(shape: &[usize], elements: Vec<T>) -> Option<ArrayBase<OwnedRepr<T>, D>> {
    let dynamic = ndarray::Array::from_shape_vec(IxDyn(shape), elements).ok()?;
    dynamic.into_dimensionality::<D>().ok()
}

impl<T: Element> CacheValue for Vec<T> {
    fn dtype(&self) -> DType {
        T::DTYPE
    }

    fn shape(&self) -> Vec<usize> {
        vec![self.len()]
    }

    fn accepts(dtype: DType, ndim: usize) -> bool {
        dtype == T::DTYPE && ndim == 1
    }

    fn compress(&self, level: u32) -> Option<Compressed> {
        codec::compress(self, level)
    }

    fn decompress(shape: &[usize], compressed: &Compressed) -> Option<Self> {
        if shape.len() != 1 {
            return None;
        }
        decompress_elements(shape, compressed)
    }

    fn write_le<E>(&self, sink: impl FnMut(&[u8]) -> Result<(), E>) -> Result<(), E> {
        write_elements(self, sink)
    }

    fn read_le<E>(
        dtype: DType,
        shape: &[usize],
        source: impl FnMut(&mut [u8]) -> Result<(), E>,
    ) -> Result<Option<Self>, E> {
        if !Self::accepts(dtype, shape.len()) {
            return Ok(None);
        }
        read_elements(shape[0], source).map(Some)
    }
}

impl<T: Element, D: Dimension + 'static> CacheValue for ArrayBase<OwnedRepr<T>, D> {
    fn dtype(&self) -> DType {
        T::DTYPE
    }

    fn shape(&self) -> Vec<usize> {
        self.shape().to_vec()
    }

    fn accepts(dtype: DType, ndim: usize) -> bool {
        dtype == T::DTYPE && D::NDIM.is_none_or(|fixed| fixed == ndim)
    }

    fn compress(&self, level: u32) -> Option<Compressed> {
        codec::compress(&array_elements(self), level)
    }

    fn decompress(shape: &[usize], compressed: &Compressed) -> Option<Self> {
        array_from(shape, decompress_elements(shape, compressed)?)
    }

    fn write_le<E>(&self, sink: impl FnMut(&[u8]) -> Result<(), E>) -> Result<(), E> {
        write_elements(&array_elements(self), sink)
    }

    fn read_le<E>(
        dtype: DType,
        shape: &[usize],
        source: impl FnMut(&mut [u8]) -> Result<(), E>,
    ) -> Result<Option<Self>, E> {
        let Some(n) = element_count(shape).filter(|_| Self::accepts(dtype, shape.len())) else {
            return Ok(None);
        };
        Ok(array_from(shape, read_elements(n, source)?))
    }
}

/// An array of any of the cache's dtypes and any number of axes: the value
/// of a cache that holds arrays of several dtypes at once (the Python
/// package's cache is one).
///
/// ```
/// use homodyne_cache::{AnyArray, CacheConfig, CacheValue, DType, MemoryEfficientCache};
/// use ndarray::ArrayD;
///
/// # fn main() -> Result<(), homodyne_cache::CacheError> {
/// let cache: MemoryEfficientCache<String, AnyArray> = MemoryEfficientCache::new(CacheConfig::default())?;
/// cache.set("frames".to_owned(), AnyArray::from(ArrayD::<u16>::zeros(vec![4, 16, 16])))?;
/// cache.set("c2".to_owned(), AnyArray::from(ArrayD::<f64>::ones(vec![16, 16])))?;
/// let frames = cache.get(&"frames".to_owned()).unwrap();
/// assert_eq!((frames.dtype(), frames.shape()), (DType::U16, vec![4, 16, 16]));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AnyArray {
    /// `f64` elements.
    F64(ArrayD<f64>),
    /// `f32` elements.
    F32(ArrayD<f32>),
    /// `i64` elements.
    I64(ArrayD<i64>),
    /// `u8` elements.
    U8(ArrayD<u8>),
    /// `i32` elements.
    I32(ArrayD<i32>),
    /// `u16` elements.
    U16(ArrayD<u16>),
    /// `u32` elements.
    U32(ArrayD<u32>),
}

/// Runs `$body` with `$array` bound to the variant's array.
macro_rules! each_variant {
    ($value:expr, $array:ident => $body:expr) => {
        match $value {
            AnyArray::F64($array) => $body,
            AnyArray::F32($array) => $body,
            AnyArray::I64($array) => $body,
            AnyArray::U8($array) => $body,
            AnyArray::I32($array) => $body,
            AnyArray::U16($array) => $body,
            AnyArray::U32($array) => $body,
        }
    };
}

/// Runs `$body` with `$type` bound to the element type of `$dtype` and wraps
/// the result (an `Option` of an `ArrayD`) in the matching variant.
macro_rules! for_dtype {
    ($dtype:expr, $type:ident => $body:expr) => {
        match $dtype {
            DType::F64 => {
                type $type = f64;
                $body.map(AnyArray::F64)
            }
            DType::F32 => {
                type $type = f32;
                $body.map(AnyArray::F32)
            }
            DType::I64 => {
                type $type = i64;
                $body.map(AnyArray::I64)
            }
            DType::U8 => {
                type $type = u8;
                $body.map(AnyArray::U8)
            }
            DType::I32 => {
                type $type = i32;
                $body.map(AnyArray::I32)
            }
            DType::U16 => {
                type $type = u16;
                $body.map(AnyArray::U16)
            }
            DType::U32 => {
                type $type = u32;
                $body.map(AnyArray::U32)
            }
        }
    };
}

macro_rules! any_from {
    ($($type:ty => $variant:ident),*) => {
        $(impl From<ArrayD<$type>> for AnyArray {
            fn from(array: ArrayD<$type>) -> AnyArray {
                AnyArray::$variant(array)
            }
        })*
    };
}

any_from!(f64 => F64, f32 => F32, i64 => I64, u8 => U8, i32 => I32, u16 => U16, u32 => U32);

impl CacheValue for AnyArray {
    fn dtype(&self) -> DType {
        each_variant!(self, array => CacheValue::dtype(array))
    }

    fn shape(&self) -> Vec<usize> {
        each_variant!(self, array => array.shape().to_vec())
    }

    fn accepts(_dtype: DType, _ndim: usize) -> bool {
        true
    }

    fn compress(&self, level: u32) -> Option<Compressed> {
        each_variant!(self, array => CacheValue::compress(array, level))
    }

    fn decompress(shape: &[usize], compressed: &Compressed) -> Option<Self> {
        for_dtype!(compressed.dtype(), T => <ArrayD<T> as CacheValue>::decompress(shape, compressed))
    }

    fn write_le<E>(&self, sink: impl FnMut(&[u8]) -> Result<(), E>) -> Result<(), E> {
        each_variant!(self, array => array.write_le(sink))
    }

    fn read_le<E>(
        dtype: DType,
        shape: &[usize],
        source: impl FnMut(&mut [u8]) -> Result<(), E>,
    ) -> Result<Option<Self>, E> {
        Ok(for_dtype!(dtype, T => <ArrayD<T> as CacheValue>::read_le(dtype, shape, source)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtype_codes_round_trip_and_sizes_match_the_types() {
        for dtype in DType::ALL {
            assert_eq!(DType::from_code(dtype.code()), Some(dtype));
        }
        assert_eq!(DType::from_code(0), None);
        assert_eq!(DType::from_code(8), None);
        let sizes = [size_of::<f64>(), size_of::<f32>(), size_of::<i64>(), 1, 4, 2, 4];
        assert_eq!(DType::ALL.map(DType::size).to_vec(), sizes.to_vec());
    }

    #[test]
    fn words_round_trip_for_every_element_type() {
        for value in [i32::MIN, -1, 0, 7, i32::MAX] {
            assert_eq!(i32::from_word(value.to_word()), value);
        }
        for value in [0u16, 1, u16::MAX] {
            assert_eq!(u16::from_word(value.to_word()), value);
        }
        for value in [0u32, 1, u32::MAX] {
            assert_eq!(u32::from_word(value.to_word()), value);
        }
    }
}
