//! Content keys of arrays, for memoising computations on data.

use ndarray::{ArrayBase, Data, Dimension};

use crate::dtype::Element;

/// A 128-bit content hash of arrays (dtype, shape and bytes), stable across
/// processes and platforms, so it can key persisted entries too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ArrayKey(pub [u64; 2]);

/// An array that can be part of an [`ArrayKey`].
pub trait KeyPart {
    /// Feeds dtype, shape and elements (in logical order) to `hasher`.
    fn hash_into(&self, hasher: &mut ContentHasher);
}

impl<T: Element, S: Data<Elem = T>, D: Dimension> KeyPart for ArrayBase<S, D> {
    fn hash_into(&self, hasher: &mut ContentHasher) {
        hasher.write_word(u64::from(T::DTYPE.code()));
        hasher.write_word(self.ndim() as u64);
        for &length in self.shape() {
            hasher.write_word(length as u64);
        }
        let size = T::DTYPE.size();
        let mut bytes = vec![0u8; size * 512];
        let elements: std::borrow::Cow<'_, [T]> = match self.as_slice() {
            Some(slice) => std::borrow::Cow::Borrowed(slice),
            None => std::borrow::Cow::Owned(self.iter().copied().collect()),
        };
        for chunk in elements.chunks(512) {
            let bytes = &mut bytes[..chunk.len() * size];
            T::write_le(chunk, bytes);
            hasher.write_bytes(bytes);
        }
    }
}

/// The hash behind [`ArrayKey`]: two independent 64-bit lanes of a
/// multiply-xorshift mix over 8-byte words (not cryptographic).
#[derive(Debug, Clone)]
pub struct ContentHasher {
    lanes: [u64; 2],
    length: u64,
}

impl Default for ContentHasher {
    fn default() -> Self {
        ContentHasher { lanes: [0x243F_6A88_85A3_08D3, 0x1319_8A2E_0370_7344], length: 0 }
    }
}

impl ContentHasher {
    fn mix(state: u64, word: u64, multiplier: u64) -> u64 {
        let mut x = (state ^ word).wrapping_mul(multiplier);
        x ^= x >> 32;
        x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        x ^ (x >> 29)
    }

    /// Feeds one word.
    pub fn write_word(&mut self, word: u64) {
        self.lanes[0] = Self::mix(self.lanes[0], word, 0xBF58_476D_1CE4_E5B9);
        self.lanes[1] = Self::mix(self.lanes[1], word.rotate_left(31), 0x94D0_49BB_1331_11EB);
        self.length += 1;
    }

    /// Feeds bytes, eight at a time, the tail zero-padded and length-tagged.
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        let (words, tail) = bytes.as_chunks::<8>();
        for word in words {
            self.write_word(u64::from_le_bytes(*word));
        }
        let mut last = [0u8; 8];
        last[..tail.len()].copy_from_slice(tail);
        self.write_word(u64::from_le_bytes(last) ^ ((tail.len() as u64) << 56));
    }

    /// The key.
    pub fn finish(&self) -> ArrayKey {
        ArrayKey([
            Self::mix(self.lanes[0], self.length, 0xD6E8_FEB8_6659_FD93),
            Self::mix(self.lanes[1], !self.length, 0xA076_1D64_78BD_642F),
        ])
    }
}

/// The content key of `parts` (arrays of any supported dtype and dimension).
///
/// ```
/// use homodyne_cache::array_key;
/// use ndarray::array;
///
/// let a = array![[1.0, 2.0], [3.0, 4.0]];
/// let b = array![1u8, 2, 3];
/// assert_eq!(array_key(&[&a, &b]), array_key(&[&a.clone(), &b.clone()]));
/// assert_ne!(array_key(&[&a]), array_key(&[&a.t().to_owned()]));
/// ```
pub fn array_key(parts: &[&dyn KeyPart]) -> ArrayKey {
    let mut hasher = ContentHasher::default();
    hasher.write_word(parts.len() as u64);
    for part in parts {
        part.hash_into(&mut hasher);
    }
    hasher.finish()
}
