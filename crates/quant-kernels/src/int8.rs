//! Dense products with 8-bit weights and activations: `Y = X · Wᵀ` for an `(rows, inputs)` f32 `X` and a weight
//! matrix quantized once, at load time, with one scale per output (per column of the product).
//!
//! The activations are quantized per row on every call (dynamic, symmetric: `scale = max|x| / 127`), the
//! products summed exactly in 32-bit integers, and each sum scaled once: `y = Σ qx·qw × scale_x × scale_w`.
//!
//! Three kernels give bit-identical results (the integer sums are exact and the two scalings happen in the same
//! order), chosen once at run time:
//! - AVX-VNNI: `vpdpbusd` multiplies unsigned by signed bytes, so the activations are offset by 128 and the
//!   offset is taken back with each column's weight sum;
//! - AVX2: `vpmaddubsw` on `|x|` and the weights carrying `x`'s sign (pair sums stay within 2·127² < 2¹⁵, so
//!   never saturate), then `vpmaddwd` by ones into 32 bits;
//! - portable Rust for every other CPU.
//!
//! The weights are packed for the SIMD loops: blocks of 8 outputs, each holding 4 consecutive inputs of each of
//! its 8 outputs in 32 bytes, so one 4-byte broadcast of the activations multiplies 8 outputs at once and the
//! sums land in output order (no horizontal additions).

use rayon::prelude::*;

/// Outputs per packed block.
const LANES: usize = 8;
/// Inputs per packed group (one 32-bit lane of the activations).
const GROUP: usize = 4;
/// Bytes of one packed group of a block.
const PACKED: usize = LANES * GROUP;
/// Largest quantized magnitude (symmetric: −127..=127, never −128).
const QMAX: f32 = 127.0;
/// Rows of the product computed by one parallel task.
const ROWS_PER_TASK: usize = 32;
/// Rows the SIMD loops carry at once.
const ROW_TILE: usize = 4;

/// The loops that compute the integer sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// Plain Rust, on any CPU.
    Portable,
    /// AVX2 `maddubs`/`madd`.
    Avx2,
    /// AVX-VNNI `dpbusd` (256-bit).
    AvxVnni,
}

impl Kernel {
    /// The fastest kernel this CPU runs (checked once).
    pub fn best() -> Kernel {
        static BEST: std::sync::OnceLock<Kernel> = std::sync::OnceLock::new();
        *BEST.get_or_init(|| {
            #[cfg(target_arch = "x86_64")]
            {
                if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("avxvnni") {
                    return Kernel::AvxVnni;
                }
                if is_x86_feature_detected!("avx2") {
                    return Kernel::Avx2;
                }
            }
            Kernel::Portable
        })
    }

    /// True when this CPU runs the kernel.
    pub fn runs_here(self) -> bool {
        match (self, Kernel::best()) {
            (Kernel::Portable, _) | (_, Kernel::AvxVnni) => true,
            (Kernel::Avx2, best) => best == Kernel::Avx2,
            (Kernel::AvxVnni, _) => false,
        }
    }

    /// A short name for logs and benchmarks.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Portable => "portable",
            Kernel::Avx2 => "avx2",
            Kernel::AvxVnni => "avx-vnni",
        }
    }
}

/// A weight matrix of `outputs × inputs` quantized to 8 bits with one scale per output, packed for the kernels.
pub struct Int8Matrix {
    inputs: usize,
    outputs: usize,
    /// Inputs rounded up to a whole group (the padding weighs 0).
    groups: usize,
    /// `outputs` rounded up to whole blocks of 8, `groups × 32` bytes per block.
    packed: Vec<i8>,
    /// One scale per output (padded with zeros to whole blocks).
    scales: Vec<f32>,
    /// Σ of each output's quantized weights (the VNNI kernel's offset correction), padded like `scales`.
    sums: Vec<i32>,
}

impl Int8Matrix {
    /// Quantizes `weights`, `outputs` rows of `inputs` values each (one row per output, as PyTorch's `Linear`
    /// stores them).
    ///
    /// # Panics
    /// When `inputs` is 0 or `weights` does not hold `outputs × inputs` values.
    pub fn new(weights: &[f32], outputs: usize, inputs: usize) -> Int8Matrix {
        assert!(inputs > 0, "a matrix without inputs");
        assert_eq!(weights.len(), outputs * inputs, "weight matrix size");
        let groups = inputs.div_ceil(GROUP);
        let blocks = outputs.div_ceil(LANES);
        let mut matrix = Int8Matrix {
            inputs,
            outputs,
            groups,
            packed: vec![0; blocks * groups * PACKED],
            scales: vec![0.0; blocks * LANES],
            sums: vec![0; blocks * LANES],
        };
        let mut quantized = vec![0i8; inputs];
        for (output, row) in weights.chunks_exact(inputs).enumerate().take(outputs) {
            matrix.scales[output] = quantize(row, &mut quantized);
            matrix.sums[output] = quantized.iter().map(|&q| i32::from(q)).sum();
            let (block, lane) = (output / LANES, output % LANES);
            for (input, &q) in quantized.iter().enumerate() {
                let (group, within) = (input / GROUP, input % GROUP);
                matrix.packed[(block * groups + group) * PACKED + lane * GROUP + within] = q;
            }
        }
        matrix
    }

    /// Inputs per row of `X`.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// Outputs per row of `Y`.
    pub fn outputs(&self) -> usize {
        self.outputs
    }

    /// `Y = X · Wᵀ` with the fastest kernel of this CPU, row tasks spread over the current thread pool.
    ///
    /// # Panics
    /// When `x` is not whole rows of [`Int8Matrix::inputs`] or `y` not as many rows of
    /// [`Int8Matrix::outputs`].
    pub fn matmul(&self, x: &[f32], y: &mut [f32]) {
        self.matmul_with(Kernel::best(), x, y);
    }

    /// [`Int8Matrix::matmul`] with a given kernel.
    ///
    /// # Panics
    /// As [`Int8Matrix::matmul`], and when this CPU does not run `kernel`.
    pub fn matmul_with(&self, kernel: Kernel, x: &[f32], y: &mut [f32]) {
        assert!(kernel.runs_here(), "the {} kernel does not run on this CPU", kernel.name());
        let inputs = self.inputs;
        assert_eq!(x.len() % inputs, 0, "input rows");
        let rows = x.len() / inputs;
        assert_eq!(y.len(), rows * self.outputs, "output size");
        if self.outputs == 0 {
            return;
        }
        y.par_chunks_mut(ROWS_PER_TASK * self.outputs)
            .zip(x.par_chunks(ROWS_PER_TASK * inputs))
            .for_each(|(y, x)| self.rows(kernel, x, y));
    }

    /// One task: quantizes its rows of `x`, then fills its rows of `y`.
    fn rows(&self, kernel: Kernel, x: &[f32], y: &mut [f32]) {
        let stride = self.groups * GROUP;
        let rows = y.len() / self.outputs;
        let mut qx = vec![0i8; rows * stride];
        let mut sx = vec![0f32; rows];
        for ((row, q), s) in x
            .chunks_exact(self.inputs)
            .zip(qx.chunks_exact_mut(stride))
            .zip(&mut sx)
        {
            *s = quantize(row, &mut q[..self.inputs]);
        }
        let quantized = QuantizedRows { qs: &qx, scales: &sx, stride };
        match kernel {
            Kernel::Portable => self.portable(&quantized, y),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 | Kernel::AvxVnni => {
                // SAFETY: `matmul_with` checked that this CPU runs `kernel`; the buffers have the sizes the
                // kernels read (whole groups per row, whole blocks of outputs).
                unsafe { x86::matmul(kernel, self, &quantized, y) }
            }
            #[cfg(not(target_arch = "x86_64"))]
            Kernel::Avx2 | Kernel::AvxVnni => unreachable!("runs_here is false off x86-64"),
        }
    }

    /// The reference loops.
    fn portable(&self, x: &QuantizedRows, y: &mut [f32]) {
        for (row, out) in y.chunks_exact_mut(self.outputs).enumerate() {
            let qs = &x.qs[row * x.stride..(row + 1) * x.stride];
            for (output, value) in out.iter_mut().enumerate() {
                let (block, lane) = (output / LANES, output % LANES);
                let mut sum = 0i32;
                for (group, inputs) in qs.chunks_exact(GROUP).enumerate() {
                    let at = (block * self.groups + group) * PACKED + lane * GROUP;
                    for (a, w) in inputs.iter().zip(&self.packed[at..at + GROUP]) {
                        sum += i32::from(*a) * i32::from(*w);
                    }
                }
                *value = sum as f32 * x.scales[row] * self.scales[output];
            }
        }
    }
}

/// Quantizes `values` into `out` (same length), symmetric; answers the scale.
fn quantize(values: &[f32], out: &mut [i8]) -> f32 {
    let max = values.iter().fold(0f32, |m, v| m.max(v.abs()));
    let scale = max / QMAX;
    let inverse = if scale > 0.0 { 1.0 / scale } else { 0.0 };
    for (q, v) in out.iter_mut().zip(values) {
        *q = (v * inverse).round().clamp(-QMAX, QMAX) as i8;
    }
    scale
}

/// A task's activations: row-major, `stride` bytes per row (whole groups, zero-padded), one scale per row.
struct QuantizedRows<'a> {
    qs: &'a [i8],
    scales: &'a [f32],
    stride: usize,
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{Int8Matrix, Kernel, QuantizedRows, GROUP, LANES, PACKED, ROW_TILE};

    /// Fills `y` (rows × outputs) with the SIMD kernel `kernel`.
    ///
    /// # Safety
    /// The CPU must run `kernel` (AVX2, plus AVX-VNNI for [`Kernel::AvxVnni`]).
    pub unsafe fn matmul(kernel: Kernel, w: &Int8Matrix, x: &QuantizedRows, y: &mut [f32]) {
        let rows = y.len() / w.outputs;
        let blocks = w.outputs.div_ceil(LANES);
        for first_block in (0..blocks).step_by(2) {
            let pair = blocks - first_block >= 2;
            for first_row in (0..rows).step_by(ROW_TILE) {
                let tile = Tile { first_row, first_block };
                match (kernel == Kernel::AvxVnni, rows - first_row, pair) {
                    (true, 1, false) => tile.run::<1, 1, true>(w, x, y),
                    (true, 1, true) => tile.run::<1, 2, true>(w, x, y),
                    (true, 2, false) => tile.run::<2, 1, true>(w, x, y),
                    (true, 2, true) => tile.run::<2, 2, true>(w, x, y),
                    (true, 3, false) => tile.run::<3, 1, true>(w, x, y),
                    (true, 3, true) => tile.run::<3, 2, true>(w, x, y),
                    (true, _, false) => tile.run::<4, 1, true>(w, x, y),
                    (true, _, true) => tile.run::<4, 2, true>(w, x, y),
                    (false, 1, false) => tile.run::<1, 1, false>(w, x, y),
                    (false, 1, true) => tile.run::<1, 2, false>(w, x, y),
                    (false, 2, false) => tile.run::<2, 1, false>(w, x, y),
                    (false, 2, true) => tile.run::<2, 2, false>(w, x, y),
                    (false, 3, false) => tile.run::<3, 1, false>(w, x, y),
                    (false, 3, true) => tile.run::<3, 2, false>(w, x, y),
                    (false, _, false) => tile.run::<4, 1, false>(w, x, y),
                    (false, _, true) => tile.run::<4, 2, false>(w, x, y),
                }
            }
        }
    }

    /// Where a tile of `R` rows × `C` blocks of outputs starts.
    struct Tile {
        first_row: usize,
        first_block: usize,
    }

    impl Tile {
        /// Sums, scales and stores one tile; `VNNI` picks the instruction set.
        #[inline(always)]
        unsafe fn run<const R: usize, const C: usize, const VNNI: bool>(
            &self,
            w: &Int8Matrix,
            x: &QuantizedRows,
            y: &mut [f32],
        ) {
            let sums = if VNNI {
                sums_vnni::<R, C>(self, w, x)
            } else {
                sums_avx2::<R, C>(self, w, x)
            };
            for (r, row_sums) in sums.iter().enumerate() {
                let row = self.first_row + r;
                let scale = _mm256_set1_ps(x.scales[row]);
                for (c, &sum) in row_sums.iter().enumerate() {
                    let first = (self.first_block + c) * LANES;
                    let sum = if VNNI {
                        // Each activation was offset by 128: take back 128 × Σ weights.
                        let offset = _mm256_loadu_si256(w.sums.as_ptr().add(first).cast());
                        _mm256_sub_epi32(sum, _mm256_slli_epi32(offset, 7))
                    } else {
                        sum
                    };
                    let weight_scales = _mm256_loadu_ps(w.scales.as_ptr().add(first));
                    let values = _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(sum), scale), weight_scales);
                    let out = &mut y[row * w.outputs..(row + 1) * w.outputs];
                    if first + LANES <= w.outputs {
                        _mm256_storeu_ps(out.as_mut_ptr().add(first), values);
                    } else {
                        let mut lanes = [0f32; LANES];
                        _mm256_storeu_ps(lanes.as_mut_ptr(), values);
                        out[first..].copy_from_slice(&lanes[..w.outputs - first]);
                    }
                }
            }
        }
    }

    /// The 4 activations of `row` in `group`, in every 32-bit lane.
    #[inline(always)]
    unsafe fn broadcast(x: &QuantizedRows, row: usize, group: usize) -> __m256i {
        let at = x.qs.as_ptr().add(row * x.stride + group * GROUP);
        _mm256_set1_epi32(at.cast::<i32>().read_unaligned())
    }

    /// The packed weights of `block` in `group`.
    #[inline(always)]
    unsafe fn weights(w: &Int8Matrix, block: usize, group: usize) -> __m256i {
        _mm256_loadu_si256(w.packed.as_ptr().add((block * w.groups + group) * PACKED).cast())
    }

    #[target_feature(enable = "avx2")]
    unsafe fn sums_avx2<const R: usize, const C: usize>(
        tile: &Tile,
        w: &Int8Matrix,
        x: &QuantizedRows,
    ) -> [[__m256i; C]; R] {
        let ones = _mm256_set1_epi16(1);
        let mut acc = [[_mm256_setzero_si256(); C]; R];
        for group in 0..w.groups {
            let mut ws = [_mm256_setzero_si256(); C];
            for (c, slot) in ws.iter_mut().enumerate() {
                *slot = weights(w, tile.first_block + c, group);
            }
            for (r, row_acc) in acc.iter_mut().enumerate() {
                let a = broadcast(x, tile.first_row + r, group);
                let magnitude = _mm256_abs_epi8(a);
                for (sum, &weight) in row_acc.iter_mut().zip(&ws) {
                    let pairs = _mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(weight, a));
                    *sum = _mm256_add_epi32(*sum, _mm256_madd_epi16(pairs, ones));
                }
            }
        }
        acc
    }

    #[target_feature(enable = "avx2,avxvnni")]
    unsafe fn sums_vnni<const R: usize, const C: usize>(
        tile: &Tile,
        w: &Int8Matrix,
        x: &QuantizedRows,
    ) -> [[__m256i; C]; R] {
        let offset = _mm256_set1_epi8(i8::MIN);
        let mut acc = [[_mm256_setzero_si256(); C]; R];
        for group in 0..w.groups {
            let mut ws = [_mm256_setzero_si256(); C];
            for (c, slot) in ws.iter_mut().enumerate() {
                *slot = weights(w, tile.first_block + c, group);
            }
            for (r, row_acc) in acc.iter_mut().enumerate() {
                // x + 128 as an unsigned byte.
                let a = _mm256_xor_si256(broadcast(x, tile.first_row + r, group), offset);
                for (sum, &weight) in row_acc.iter_mut().zip(&ws) {
                    *sum = _mm256_dpbusd_avx_epi32(*sum, a, weight);
                }
            }
        }
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic values in about [-scale, scale], with a few outliers (as BERT activations have).
    fn values(count: usize, seed: u64, scale: f32) -> Vec<f32> {
        let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (0..count)
            .map(|i| {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                let unit = (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0;
                if i % 97 == 13 {
                    unit * scale * 8.0
                } else {
                    unit * scale
                }
            })
            .collect()
    }

    fn reference(w: &[f32], x: &[f32], inputs: usize) -> Vec<f32> {
        x.chunks_exact(inputs)
            .flat_map(|row| {
                w.chunks_exact(inputs)
                    .map(move |weights| weights.iter().zip(row).map(|(a, b)| a * b).sum::<f32>())
            })
            .collect()
    }

    fn product(kernel: Kernel, matrix: &Int8Matrix, x: &[f32]) -> Vec<f32> {
        let mut y = vec![f32::NAN; x.len() / matrix.inputs() * matrix.outputs()];
        matrix.matmul_with(kernel, x, &mut y);
        y
    }

    /// Shapes with every remainder: rows not a multiple of the row tile or of a task, outputs not a multiple of
    /// a block (nor of two), inputs not a multiple of a group.
    const SHAPES: [(usize, usize, usize); 6] =
        [(1, 8, 4), (3, 24, 32), (5, 13, 7), (10, 1152, 384), (37, 40, 1536), (70, 384, 96)];

    /// The values `quantize` keeps of each row of `values`.
    fn stored(values: &[f32], width: usize) -> Vec<f32> {
        let mut q = vec![0i8; width];
        values
            .chunks_exact(width)
            .flat_map(|row| {
                let scale = quantize(row, &mut q);
                q.iter().map(move |&v| f32::from(v) * scale).collect::<Vec<_>>()
            })
            .collect()
    }

    fn norm(v: &[f32]) -> f32 {
        v.iter().map(|a| a * a).sum::<f32>().sqrt()
    }

    /// ‖got − want‖ / ‖want‖.
    fn relative_error(got: &[f32], want: &[f32]) -> f32 {
        let error: Vec<f32> = got.iter().zip(want).map(|(a, b)| a - b).collect();
        norm(&error) / norm(want)
    }

    #[test]
    fn the_product_is_the_product_of_the_stored_values_and_close_to_the_f32_one() {
        for (rows, outputs, inputs) in SHAPES {
            let w = values(outputs * inputs, 1, 0.1);
            let x = values(rows * inputs, 2, 1.5);
            let got = product(Kernel::Portable, &Int8Matrix::new(&w, outputs, inputs), &x);
            let of_stored = reference(&stored(&w, inputs), &stored(&x, inputs), inputs);
            let error = relative_error(&got, &of_stored);
            assert!(error < 1e-5, "{rows}×{outputs}×{inputs}: {error} from the stored values' product");
            // 8-bit rounding on both sides, with outliers 8× the typical value setting the scales: a few percent.
            let error = relative_error(&got, &reference(&w, &x, inputs));
            assert!(error < 0.05, "{rows}×{outputs}×{inputs}: {error} from the f32 product");
        }
    }

    #[test]
    fn every_kernel_gives_the_portable_results_bit_for_bit() {
        for kernel in [Kernel::Avx2, Kernel::AvxVnni] {
            if !kernel.runs_here() {
                eprintln!("{} does not run here: not compared", kernel.name());
                continue;
            }
            for (rows, outputs, inputs) in SHAPES {
                // Extremes too: ±127 on both sides is where maddubs would saturate without the sign trick.
                let mut w = values(outputs * inputs, 3, 0.2);
                let mut x = values(rows * inputs, 4, 2.0);
                w[..inputs.min(4)].fill(-0.2 * 8.0);
                x[..inputs.min(4)].fill(-2.0 * 8.0);
                let matrix = Int8Matrix::new(&w, outputs, inputs);
                assert_eq!(
                    product(kernel, &matrix, &x),
                    product(Kernel::Portable, &matrix, &x),
                    "{}: {rows}×{outputs}×{inputs}",
                    kernel.name()
                );
            }
        }
    }

    #[test]
    fn zero_rows_and_columns_give_zeros() {
        let (outputs, inputs) = (16, 8);
        let mut w = values(outputs * inputs, 5, 1.0);
        w[..inputs].fill(0.0);
        let matrix = Int8Matrix::new(&w, outputs, inputs);
        let mut x = values(2 * inputs, 6, 1.0);
        x[..inputs].fill(0.0);
        let y = product(Kernel::best(), &matrix, &x);
        assert!(y[..outputs].iter().all(|&v| v == 0.0), "a zero row: {:?}", &y[..outputs]);
        assert_eq!(y[outputs], 0.0, "a zero column");
        assert!(y[outputs + 1..].iter().any(|&v| v != 0.0));
    }

    #[test]
    #[should_panic(expected = "output size")]
    fn a_wrong_output_size_is_refused() {
        let matrix = Int8Matrix::new(&[1.0; 32], 4, 8);
        matrix.matmul(&[1.0; 16], &mut [0.0; 7]);
    }
}
