//! Matrix-vector products straight on a GGUF file's quantized blocks (ggml's Q4_1 and Q8_0 layouts), with
//! AVX2 kernels chosen at run time. candle picks its fast quantized kernels only when the whole binary is built
//! for AVX2 (`target-cpu`), which would make the binary die on older CPUs; these are compiled for AVX2 function
//! by function and used only when the CPU has it, so the binary starts on any x86-64 and still decodes at SIMD
//! speed. Without AVX2 (or on other architectures) the model keeps using candle's portable kernels.
//!
//! The activations are quantized to 8 bits per block of 32 (as llama.cpp does), so a block's dot product is 32
//! byte multiplications summed in integers, scaled once.
//!
//! [`int8`] holds the dense products of the MiniLM embedder with 8-bit weights and activations (AVX-512 VNNI,
//! AVX-VNNI or AVX2 kernels, or portable loops with the same results).
//!
//! [`attention`] holds the rest of a decoding step's loops that candle would run with a copy of the whole key/value
//! cache per token: rotary embeddings and causal grouped-query attention; [`sample`] picks the next token.
//!
//! A crate of its own so that test builds (which leave the main crate unoptimized) still compile these loops
//! optimized: the workspace's dev profile gives this package `opt-level = 3`.

pub mod attention;
pub mod int8;
pub mod sample;

use rayon::prelude::*;

/// Values per quantized block (both layouts).
pub const BLOCK: usize = 32;
/// Rows computed by one parallel task.
const ROWS_PER_TASK: usize = 64;

/// Activations quantized to 8 bits per block of 32.
pub struct QuantizedInput {
    qs: Vec<i8>,
    scale: Vec<f32>,
    /// `scale × Σ qs` per block (Q4_1's offset term needs it).
    sum: Vec<f32>,
}

impl QuantizedInput {
    /// Quantizes `x` (its length a multiple of 32).
    pub fn new(x: &[f32]) -> Self {
        let blocks = x.len() / BLOCK;
        let mut input = QuantizedInput {
            qs: vec![0; blocks * BLOCK],
            scale: Vec::with_capacity(blocks),
            sum: Vec::with_capacity(blocks),
        };
        for (b, values) in x.chunks_exact(BLOCK).enumerate() {
            let max = values.iter().fold(0f32, |m, v| m.max(v.abs()));
            let scale = max / 127.0;
            let inverse = if scale > 0.0 { 1.0 / scale } else { 0.0 };
            let mut total = 0i32;
            for (q, v) in input.qs[b * BLOCK..(b + 1) * BLOCK].iter_mut().zip(values) {
                *q = (v * inverse).round() as i8;
                total += i32::from(*q);
            }
            input.scale.push(scale);
            input.sum.push(scale * total as f32);
        }
        input
    }
}

/// The block layouts handled here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// 20 bytes: f16 scale `d`, f16 minimum `m`, 16 bytes of nibbles (element j low, j+16 high).
    Q4_1,
    /// 34 bytes: f16 scale `d`, 32 signed bytes.
    Q8_0,
}

impl Layout {
    /// Bytes per block.
    pub fn bytes(self) -> usize {
        match self {
            Layout::Q4_1 => 20,
            Layout::Q8_0 => 34,
        }
    }
}

/// True when this CPU runs the kernels (checked once).
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static AVX2: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *AVX2.get_or_init(|| {
            is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") && is_x86_feature_detected!("f16c")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

fn f16_at(bytes: &[u8], at: usize) -> f32 {
    half::f16::from_bits(u16::from_le_bytes([bytes[at], bytes[at + 1]])).to_f32()
}

/// Appends the values of the blocks in `data` (whole blocks of `layout`), widened to f32: a row of an embedding
/// table, for instance. Works on any CPU.
pub fn dequantize(layout: Layout, data: &[u8], out: &mut Vec<f32>) {
    for block in data.chunks_exact(layout.bytes()) {
        let d = f16_at(block, 0);
        match layout {
            Layout::Q4_1 => {
                let m = f16_at(block, 2);
                let nibbles = &block[4..];
                out.extend(nibbles.iter().map(|q| d * f32::from(q & 0x0f) + m));
                out.extend(nibbles.iter().map(|q| d * f32::from(q >> 4) + m));
            }
            Layout::Q8_0 => out.extend(block[2..].iter().map(|q| d * f32::from(*q as i8))),
        }
    }
}

/// A quantized matrix (`rows` outputs × `cols` inputs of `layout` blocks) the kernels can multiply on this CPU.
/// The blocks themselves stay where they are (scales included, widened as they are read) and are passed to
/// [`QuantMatrix::matvec`] on each call.
pub struct QuantMatrix {
    layout: Layout,
    rows: usize,
    cols: usize,
}

impl QuantMatrix {
    /// The matrix of `data` (`rows × cols / 32` blocks of `layout`), or `None` when the kernels cannot run on
    /// this CPU or the sizes do not fit.
    pub fn new(layout: Layout, rows: usize, cols: usize, data: &[u8]) -> Option<QuantMatrix> {
        if !available() || cols % BLOCK != 0 || data.len() != rows * cols / BLOCK * layout.bytes() {
            return None;
        }
        Some(QuantMatrix { layout, rows, cols })
    }

    /// Output size.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Input size.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// `out = W · x` for the blocks `data` of this matrix, rows spread over the thread pool.
    ///
    /// # Panics
    /// When `data` or `out` do not have the matrix's size.
    pub fn matvec(&self, data: &[u8], x: &QuantizedInput, out: &mut [f32]) {
        let blocks = self.cols / BLOCK;
        let row_bytes = blocks * self.layout.bytes();
        assert_eq!(data.len(), self.rows * row_bytes, "matrix data size");
        assert_eq!(out.len(), self.rows, "output size");
        assert_eq!(x.qs.len(), self.cols, "input size");
        out.par_chunks_mut(ROWS_PER_TASK)
            .zip(data.par_chunks(ROWS_PER_TASK * row_bytes))
            .for_each(|(ys, rows)| {
                for (y, raw) in ys.iter_mut().zip(rows.chunks_exact(row_bytes)) {
                    *y = self.row_dot(raw, x);
                }
            });
    }

    fn row_dot(&self, raw: &[u8], x: &QuantizedInput) -> f32 {
        #[cfg(target_arch = "x86_64")]
        {
            let blocks = raw.len() / self.layout.bytes();
            // SAFETY: `QuantMatrix::new` succeeds only when `available()` found AVX2, FMA and F16C; `matvec`
            // checked that `raw` holds whole blocks, as many as the input has blocks of 32.
            unsafe {
                match self.layout {
                    Layout::Q4_1 => avx2::dot_q4_1(raw, blocks, x),
                    Layout::Q8_0 => avx2::dot_q8_0(raw, blocks, x),
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (raw, x);
            unreachable!("QuantMatrix::new needs AVX2")
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{QuantizedInput, BLOCK};

    #[target_feature(enable = "avx2,fma")]
    unsafe fn sum(v: __m256) -> f32 {
        let half = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let quarter = _mm_add_ps(half, _mm_movehl_ps(half, half));
        _mm_cvtss_f32(_mm_add_ss(quarter, _mm_movehdup_ps(quarter)))
    }

    /// Σ over the 32 byte pairs of unsigned `a` × signed `b`, as 8 floats.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn dot_bytes(a: __m256i, b: __m256i) -> __m256 {
        let pairs = _mm256_maddubs_epi16(a, b);
        _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)))
    }

    /// The two f16 values at `at` (a block's leading scale, and the minimum of a Q4_1 block), widened.
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn halves(at: *const u8) -> __m128 {
        _mm_cvtph_ps(_mm_cvtsi32_si128(at.cast::<i32>().read_unaligned()))
    }

    /// One Q4_1 row (`blocks` blocks of 20 bytes in `raw`) · the quantized input.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn dot_q4_1(raw: &[u8], blocks: usize, x: &QuantizedInput) -> f32 {
        let low = _mm256_set1_epi8(0x0f);
        let mut acc = _mm256_setzero_ps();
        let mut offsets = _mm_setzero_ps();
        for b in 0..blocks {
            let block = raw.as_ptr().add(b * 20);
            // [d, m, 0, 0]
            let dm = halves(block);
            let nibbles = _mm_loadu_si128(block.add(4) as *const __m128i);
            let q = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(nibbles, 4), nibbles), low);
            let y = _mm256_loadu_si256(x.qs.as_ptr().add(b * BLOCK) as *const __m256i);
            let d = _mm256_set1_ps(_mm_cvtss_f32(dm) * x.scale[b]);
            acc = _mm256_fmadd_ps(d, dot_bytes(q, y), acc);
            // m × (scale × Σ qs), in the second lane.
            offsets = _mm_fmadd_ps(dm, _mm_set1_ps(x.sum[b]), offsets);
        }
        sum(acc) + _mm_cvtss_f32(_mm_movehdup_ps(offsets))
    }

    /// One Q8_0 row (`blocks` blocks of 34 bytes in `raw`) · the quantized input.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn dot_q8_0(raw: &[u8], blocks: usize, x: &QuantizedInput) -> f32 {
        let mut acc = _mm256_setzero_ps();
        for b in 0..blocks {
            let block = raw.as_ptr().add(b * 34);
            let q = _mm256_loadu_si256(block.add(2) as *const __m256i);
            let y = _mm256_loadu_si256(x.qs.as_ptr().add(b * BLOCK) as *const __m256i);
            // |q| × (y with q's sign): the unsigned × signed multiply of `maddubs` computes q × y.
            let products = dot_bytes(_mm256_sign_epi8(q, q), _mm256_sign_epi8(y, q));
            let d = _mm_cvtss_f32(halves(block));
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d * x.scale[b]), products, acc);
        }
        sum(acc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Packs `w` (rows × cols) into Q4_1 or Q8_0 blocks the way ggml does.
    fn quantize(layout: Layout, w: &[f32]) -> Vec<u8> {
        let mut out = Vec::new();
        for block in w.chunks_exact(BLOCK) {
            match layout {
                Layout::Q4_1 => {
                    let min = block.iter().copied().fold(f32::MAX, f32::min);
                    let max = block.iter().copied().fold(f32::MIN, f32::max);
                    let d = (max - min) / 15.0;
                    let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
                    out.extend_from_slice(&half::f16::from_f32(d).to_bits().to_le_bytes());
                    out.extend_from_slice(&half::f16::from_f32(min).to_bits().to_le_bytes());
                    let q = |v: f32| (((v - min) * inv).round() as u8).min(15);
                    for j in 0..16 {
                        out.push(q(block[j]) | (q(block[j + 16]) << 4));
                    }
                }
                Layout::Q8_0 => {
                    let max = block.iter().fold(0f32, |m, v| m.max(v.abs()));
                    let d = max / 127.0;
                    let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
                    out.extend_from_slice(&half::f16::from_f32(d).to_bits().to_le_bytes());
                    out.extend(block.iter().map(|v| ((v * inv).round() as i8) as u8));
                }
            }
        }
        out
    }

    /// The kernels agree with the product of the stored (dequantized) weights, up to the error of quantizing
    /// the input to 8 bits.
    #[test]
    fn matvec_matches_the_product_of_the_stored_weights() {
        if !available() {
            return;
        }
        let (rows, cols) = (96, 128);
        let w: Vec<f32> = (0..rows * cols).map(|i| ((i * 37 % 101) as f32 - 50.0) / 40.0).collect();
        let x: Vec<f32> = (0..cols).map(|i| ((i * 13 % 29) as f32 - 14.0) / 9.0).collect();
        for layout in [Layout::Q4_1, Layout::Q8_0] {
            let data = quantize(layout, &w);
            let mut stored = Vec::new();
            dequantize(layout, &data, &mut stored);
            let exact: Vec<f32> = stored
                .chunks_exact(cols)
                .map(|row| row.iter().zip(&x).map(|(a, b)| a * b).sum())
                .collect();
            let matrix = QuantMatrix::new(layout, rows, cols, &data).expect("sizes fit");
            let mut out = vec![0f32; rows];
            matrix.matvec(&data, &QuantizedInput::new(&x), &mut out);
            for (a, b) in out.iter().zip(&exact) {
                assert!((a - b).abs() < 0.1 + 0.02 * b.abs(), "{layout:?}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn wrong_sizes_are_refused() {
        assert!(QuantMatrix::new(Layout::Q8_0, 2, 30, &[0; 68]).is_none());
        assert!(QuantMatrix::new(Layout::Q8_0, 2, 32, &[0; 67]).is_none());
    }
}
