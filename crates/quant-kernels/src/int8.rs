//! Dense products with 8-bit weights and activations: `Y = X · Wᵀ` for an `(rows, inputs)` f32 `X` and a weight
//! matrix quantized once, at load time, with one scale per output (per column of the product).
//!
//! The activations are quantized on every call (dynamic, symmetric) with one scale per block of 32 inputs of a
//! row, so that one outlier (BERT's hidden states have a few channels many times larger than the rest) costs
//! precision only in its own block. Each block's products are summed exactly in 32-bit integers and added up
//! scaled: `y = scale_w × Σ_blocks scale_x × Σ qx·qw`.
//!
//! Four kernels give bit-identical results (the integer sums are exact, and the float steps are the same fused
//! multiply-adds and products in the same order), chosen once at run time:
//! - AVX-512 VNNI and AVX-VNNI: `vpdpbusd` (on 16 or 8 outputs at once) multiplies unsigned by signed bytes, so the
//!   activations are stored offset by 128 and the offset is taken back with each block's weight sums;
//! - AVX2: `vpmaddubsw` on `|x|` and the weights carrying `x`'s sign (pair sums stay within 2·127² < 2¹⁵, so
//!   never saturate), then `vpmaddwd` by ones into 32 bits;
//! - portable Rust for every other CPU.
//!
//! The weights are packed for the SIMD loops: blocks of 16 outputs, each holding 4 consecutive inputs of each of
//! its 16 outputs in 64 bytes, so one 4-byte broadcast of the activations multiplies 16 outputs at once (or 8,
//! with each half of the 64 bytes) and the sums land in output order (no horizontal additions).

use rayon::prelude::*;

/// Outputs per packed block.
const LANES: usize = 16;
/// Outputs per 256-bit vector (half a block).
const HALF: usize = LANES / 2;
/// Inputs per packed group (one 32-bit lane of the activations).
const GROUP: usize = 4;
/// Bytes of one packed group of a block.
const PACKED: usize = LANES * GROUP;
/// Inputs sharing one activation scale.
const SCALE_BLOCK: usize = 32;
/// Groups per scale block.
const GROUPS_PER_SCALE: usize = SCALE_BLOCK / GROUP;
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
    /// AVX2 `maddubs`/`madd` (and FMA).
    Avx2,
    /// AVX-VNNI `dpbusd` (256-bit).
    AvxVnni,
    /// AVX-512 VNNI `dpbusd` (512-bit).
    Avx512Vnni,
}

impl Kernel {
    /// The fastest kernel this CPU runs (checked once).
    pub fn best() -> Kernel {
        static BEST: std::sync::OnceLock<Kernel> = std::sync::OnceLock::new();
        *BEST.get_or_init(|| {
            [Kernel::Avx512Vnni, Kernel::AvxVnni, Kernel::Avx2]
                .into_iter()
                .find(|kernel| kernel.runs_here())
                .unwrap_or(Kernel::Portable)
        })
    }

    /// True when this CPU runs the kernel.
    pub fn runs_here(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            let avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
            match self {
                Kernel::Portable => true,
                Kernel::Avx2 => avx2,
                Kernel::AvxVnni => avx2 && is_x86_feature_detected!("avxvnni"),
                Kernel::Avx512Vnni => {
                    avx2 && is_x86_feature_detected!("avx512f")
                        && is_x86_feature_detected!("avx512bw")
                        && is_x86_feature_detected!("avx512vnni")
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            self == Kernel::Portable
        }
    }

    /// True for the kernels that read the activations stored `+ 128`.
    fn offset(self) -> bool {
        matches!(self, Kernel::AvxVnni | Kernel::Avx512Vnni)
    }

    /// A short name for logs and benchmarks.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Portable => "portable",
            Kernel::Avx2 => "avx2",
            Kernel::AvxVnni => "avx-vnni",
            Kernel::Avx512Vnni => "avx512-vnni",
        }
    }
}

/// A weight matrix of `outputs × inputs` quantized to 8 bits with one scale per output, packed for the kernels.
pub struct Int8Matrix {
    inputs: usize,
    outputs: usize,
    /// Inputs rounded up to whole scale blocks (the padding weighs 0), in groups of 4.
    groups: usize,
    /// `outputs` rounded up to whole blocks of 8, `groups × 32` bytes per block.
    packed: Vec<i8>,
    /// One scale per output (padded with zeros to whole blocks).
    scales: Vec<f32>,
    /// 128 × Σ of each output's quantized weights over each scale block of inputs (the VNNI kernel's offset
    /// correction): one row of padded outputs per scale block.
    offsets: Vec<i32>,
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
        let scale_blocks = inputs.div_ceil(SCALE_BLOCK);
        let groups = scale_blocks * GROUPS_PER_SCALE;
        let padded = outputs.div_ceil(LANES) * LANES;
        let mut matrix = Int8Matrix {
            inputs,
            outputs,
            groups,
            packed: vec![0; padded * groups * GROUP],
            scales: vec![0.0; padded],
            offsets: vec![0; scale_blocks * padded],
        };
        let mut quantized = vec![0i8; inputs];
        for (output, row) in weights.chunks_exact(inputs).enumerate().take(outputs) {
            matrix.scales[output] = quantize(row, &mut quantized);
            for (block, part) in quantized.chunks(SCALE_BLOCK).enumerate() {
                matrix.offsets[block * padded + output] = 128 * part.iter().map(|&q| i32::from(q)).sum::<i32>();
            }
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

    /// Scale blocks per row.
    fn scale_blocks(&self) -> usize {
        self.groups / GROUPS_PER_SCALE
    }

    /// One task: quantizes its rows of `x`, then fills its rows of `y`.
    fn rows(&self, kernel: Kernel, x: &[f32], y: &mut [f32]) {
        let stride = self.groups * GROUP;
        let rows = y.len() / self.outputs;
        let mut qx = vec![0i8; rows * stride];
        let mut sx = vec![0f32; rows * self.scale_blocks()];
        for ((row, q), s) in x
            .chunks_exact(self.inputs)
            .zip(qx.chunks_exact_mut(stride))
            .zip(sx.chunks_exact_mut(self.scale_blocks()))
        {
            for ((values, q), s) in row.chunks(SCALE_BLOCK).zip(q.chunks_mut(SCALE_BLOCK)).zip(s) {
                *s = quantize_for(kernel, values, &mut q[..values.len()]);
            }
        }
        let quantized = QuantizedRows {
            qs: &qx,
            scales: &sx,
            stride,
            blocks: self.scale_blocks(),
        };
        match kernel {
            Kernel::Portable => self.portable(&quantized, y),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 | Kernel::AvxVnni | Kernel::Avx512Vnni => {
                // SAFETY: `matmul_with` checked that this CPU runs `kernel`; the buffers have the sizes the
                // kernels read (whole groups per row, whole blocks of outputs).
                unsafe { x86::matmul(kernel, self, &quantized, y) }
            }
            #[cfg(not(target_arch = "x86_64"))]
            Kernel::Avx2 | Kernel::AvxVnni | Kernel::Avx512Vnni => unreachable!("runs_here is false off x86-64"),
        }
    }

    /// The reference loops.
    fn portable(&self, x: &QuantizedRows, y: &mut [f32]) {
        for (row, out) in y.chunks_exact_mut(self.outputs).enumerate() {
            let qs = &x.qs[row * x.stride..(row + 1) * x.stride];
            let scales = &x.scales[row * x.blocks..(row + 1) * x.blocks];
            for (output, value) in out.iter_mut().enumerate() {
                let (block, lane) = (output / LANES, output % LANES);
                let mut total = 0f32;
                for (scale_block, (inputs, &scale)) in qs.chunks_exact(SCALE_BLOCK).zip(scales).enumerate() {
                    let mut sum = 0i32;
                    for (within, inputs) in inputs.chunks_exact(GROUP).enumerate() {
                        let group = scale_block * GROUPS_PER_SCALE + within;
                        let at = (block * self.groups + group) * PACKED + lane * GROUP;
                        for (a, w) in inputs.iter().zip(&self.packed[at..at + GROUP]) {
                            sum += i32::from(*a) * i32::from(*w);
                        }
                    }
                    total = (sum as f32).mul_add(scale, total);
                }
                *value = total * self.scales[output];
            }
        }
    }
}

/// Quantizes `values` into `out` (same length), symmetric, rounding half to even; answers the scale.
fn quantize(values: &[f32], out: &mut [i8]) -> f32 {
    let max = values.iter().fold(0f32, |m, v| m.max(v.abs()));
    let (scale, inverse) = scales(max);
    for (q, v) in out.iter_mut().zip(values) {
        *q = (v * inverse).round_ties_even().clamp(-QMAX, QMAX) as i8;
    }
    scale
}

/// The scale of a block whose largest magnitude is `max`, and its inverse (0 for a block of zeros).
fn scales(max: f32) -> (f32, f32) {
    let scale = max / QMAX;
    (scale, if scale > 0.0 { 1.0 / scale } else { 0.0 })
}

/// A block of activations as `kernel` reads them: [`quantize`]d, stored `+ 128` (as unsigned bytes) for the
/// VNNI kernels; whole blocks with SIMD on x86.
fn quantize_for(kernel: Kernel, values: &[f32], out: &mut [i8]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if kernel != Kernel::Portable && values.len() == SCALE_BLOCK {
        // SAFETY: `matmul_with` checked that the CPU runs `kernel` (AVX2 at least); the block is whole.
        return unsafe { x86::quantize_block(values, out, kernel.offset()) };
    }
    let scale = quantize(values, out);
    if kernel.offset() {
        out.iter_mut().for_each(|q| *q ^= i8::MIN);
    }
    scale
}

/// A task's activations: row-major, `stride` bytes per row (whole scale blocks, zero-padded), `blocks` scales
/// per row.
struct QuantizedRows<'a> {
    qs: &'a [i8],
    scales: &'a [f32],
    stride: usize,
    blocks: usize,
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{
        scales, Int8Matrix, Kernel, QuantizedRows, GROUP, GROUPS_PER_SCALE, HALF, PACKED, QMAX, ROW_TILE,
    };

    /// [`super::quantize`] of one whole block (32 values), stored `+ 128` when `offset`.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn quantize_block(values: &[f32], out: &mut [i8], offset: bool) -> f32 {
        let magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(i32::MAX));
        let mut max = _mm256_setzero_ps();
        for i in (0..super::SCALE_BLOCK).step_by(8) {
            max = _mm256_max_ps(max, _mm256_and_ps(_mm256_loadu_ps(values.as_ptr().add(i)), magnitude));
        }
        let half = _mm_max_ps(_mm256_castps256_ps128(max), _mm256_extractf128_ps(max, 1));
        let quarter = _mm_max_ps(half, _mm_movehl_ps(half, half));
        let (scale, inverse) = scales(_mm_cvtss_f32(_mm_max_ss(quarter, _mm_movehdup_ps(quarter))));
        let inverse = _mm256_set1_ps(inverse);
        let (low, high) = (_mm256_set1_epi32(-(QMAX as i32)), _mm256_set1_epi32(QMAX as i32));
        let mut rounded = [0i32; super::SCALE_BLOCK];
        for i in (0..super::SCALE_BLOCK).step_by(8) {
            // Rounds half to even (the default rounding mode), as `round_ties_even`.
            let q = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(values.as_ptr().add(i)), inverse));
            let q = _mm256_min_epi32(_mm256_max_epi32(q, low), high);
            _mm256_storeu_si256(rounded.as_mut_ptr().add(i).cast(), q);
        }
        let flip = if offset { i8::MIN } else { 0 };
        for (q, &r) in out.iter_mut().zip(&rounded) {
            *q = (r as i8) ^ flip;
        }
        scale
    }

    /// The tile of `$rows` (1 to 4 or more) rows × `$pair` (two vectors of outputs, or one) for `$run`.
    macro_rules! tile {
        ($tile:expr, $run:ident, $vnni:literal, $rows:expr, $pair:expr, $w:expr, $x:expr, $y:expr) => {
            match ($rows, $pair) {
                (1, false) => $tile.$run::<1, 1, $vnni>($w, $x, $y),
                (1, true) => $tile.$run::<1, 2, $vnni>($w, $x, $y),
                (2, false) => $tile.$run::<2, 1, $vnni>($w, $x, $y),
                (2, true) => $tile.$run::<2, 2, $vnni>($w, $x, $y),
                (3, false) => $tile.$run::<3, 1, $vnni>($w, $x, $y),
                (3, true) => $tile.$run::<3, 2, $vnni>($w, $x, $y),
                (_, false) => $tile.$run::<4, 1, $vnni>($w, $x, $y),
                (_, true) => $tile.$run::<4, 2, $vnni>($w, $x, $y),
            }
        };
    }

    /// Fills `y` (rows × outputs) with the SIMD kernel `kernel`.
    ///
    /// # Safety
    /// The CPU must run `kernel` (AVX2 and FMA, plus AVX-VNNI or AVX-512 VNNI for those kernels).
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn matmul(kernel: Kernel, w: &Int8Matrix, x: &QuantizedRows, y: &mut [f32]) {
        let rows = y.len() / w.outputs;
        if kernel == Kernel::Avx512Vnni {
            return wide::matmul(w, x, y);
        }
        // Vectors of 8 outputs, two at a time.
        let vectors = w.outputs.div_ceil(HALF);
        for first_block in (0..vectors).step_by(2) {
            let pair = vectors - first_block >= 2;
            for first_row in (0..rows).step_by(ROW_TILE) {
                let tile = Tile { first_row, first_block };
                if kernel == Kernel::AvxVnni {
                    tile!(tile, run, true, rows - first_row, pair, w, x, y);
                } else {
                    tile!(tile, run, false, rows - first_row, pair, w, x, y);
                }
            }
        }
    }

    /// Where a tile of `R` rows × `C` vectors of outputs starts.
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
            let totals = if VNNI {
                totals_vnni::<R, C>(self, w, x)
            } else {
                totals_avx2::<R, C>(self, w, x)
            };
            for (r, row_totals) in totals.iter().enumerate() {
                let row = self.first_row + r;
                for (c, &total) in row_totals.iter().enumerate() {
                    let first = (self.first_block + c) * HALF;
                    let values = _mm256_mul_ps(total, _mm256_loadu_ps(w.scales.as_ptr().add(first)));
                    let out = &mut y[row * w.outputs..(row + 1) * w.outputs];
                    if first + HALF <= w.outputs {
                        _mm256_storeu_ps(out.as_mut_ptr().add(first), values);
                    } else {
                        let mut lanes = [0f32; HALF];
                        _mm256_storeu_ps(lanes.as_mut_ptr(), values);
                        out[first..].copy_from_slice(&lanes[..w.outputs - first]);
                    }
                }
            }
        }
    }

    /// The 4 activations of `row` in `group`, as one 32-bit value.
    #[inline(always)]
    unsafe fn broadcast32(x: &QuantizedRows, row: usize, group: usize) -> i32 {
        x.qs.as_ptr().add(row * x.stride + group * GROUP).cast::<i32>().read_unaligned()
    }

    /// The 4 activations of `row` in `group`, in every 32-bit lane.
    #[inline(always)]
    unsafe fn broadcast(x: &QuantizedRows, row: usize, group: usize) -> __m256i {
        _mm256_set1_epi32(broadcast32(x, row, group))
    }

    /// The packed weights of the `vector`th 8 outputs in `group`: half of a block.
    #[inline(always)]
    unsafe fn weights(w: &Int8Matrix, vector: usize, group: usize) -> __m256i {
        let at = ((vector / 2) * w.groups + group) * PACKED + (vector % 2) * PACKED / 2;
        _mm256_loadu_si256(w.packed.as_ptr().add(at).cast())
    }

    /// `Σ_blocks scale_x × Σ qx·qw` for the tile, by AVX2 `maddubs` on `|x|` and the weights with `x`'s sign.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn totals_avx2<const R: usize, const C: usize>(
        tile: &Tile,
        w: &Int8Matrix,
        x: &QuantizedRows,
    ) -> [[__m256; C]; R] {
        let ones = _mm256_set1_epi16(1);
        let mut totals = [[_mm256_setzero_ps(); C]; R];
        for scale_block in 0..x.blocks {
            let mut acc = [[_mm256_setzero_si256(); C]; R];
            for group in scale_block * GROUPS_PER_SCALE..(scale_block + 1) * GROUPS_PER_SCALE {
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
            for (r, (row_totals, row_acc)) in totals.iter_mut().zip(&acc).enumerate() {
                let scale = _mm256_set1_ps(x.scales[(tile.first_row + r) * x.blocks + scale_block]);
                for (total, &sum) in row_totals.iter_mut().zip(row_acc) {
                    *total = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), scale, *total);
                }
            }
        }
        totals
    }

    /// As [`totals_avx2`], by AVX-VNNI `dpbusd` on `x + 128` (as the activations are stored for it), the offset
    /// taken back per scale block.
    #[target_feature(enable = "avx2,fma,avxvnni")]
    unsafe fn totals_vnni<const R: usize, const C: usize>(
        tile: &Tile,
        w: &Int8Matrix,
        x: &QuantizedRows,
    ) -> [[__m256; C]; R] {
        let padded = w.scales.len();
        let mut totals = [[_mm256_setzero_ps(); C]; R];
        for scale_block in 0..x.blocks {
            let mut acc = [[_mm256_setzero_si256(); C]; R];
            for group in scale_block * GROUPS_PER_SCALE..(scale_block + 1) * GROUPS_PER_SCALE {
                let mut ws = [_mm256_setzero_si256(); C];
                for (c, slot) in ws.iter_mut().enumerate() {
                    *slot = weights(w, tile.first_block + c, group);
                }
                for (r, row_acc) in acc.iter_mut().enumerate() {
                    // Stored as x + 128, unsigned.
                    let a = broadcast(x, tile.first_row + r, group);
                    for (sum, &weight) in row_acc.iter_mut().zip(&ws) {
                        *sum = _mm256_dpbusd_avx_epi32(*sum, a, weight);
                    }
                }
            }
            let mut offsets = [_mm256_setzero_si256(); C];
            for (c, slot) in offsets.iter_mut().enumerate() {
                let at = scale_block * padded + (tile.first_block + c) * HALF;
                *slot = _mm256_loadu_si256(w.offsets.as_ptr().add(at).cast());
            }
            for (r, (row_totals, row_acc)) in totals.iter_mut().zip(&acc).enumerate() {
                let scale = _mm256_set1_ps(x.scales[(tile.first_row + r) * x.blocks + scale_block]);
                for ((total, &sum), &offset) in row_totals.iter_mut().zip(row_acc).zip(&offsets) {
                    let sum = _mm256_sub_epi32(sum, offset);
                    *total = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), scale, *total);
                }
            }
        }
        totals
    }

    /// The AVX-512 VNNI kernel: 16 outputs per vector.
    mod wide {
        use std::arch::x86_64::*;

        use super::super::{Int8Matrix, QuantizedRows, GROUPS_PER_SCALE, LANES, PACKED, ROW_TILE};
        use super::broadcast32;

        /// Fills `y` (rows × outputs).
        #[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma")]
        pub unsafe fn matmul(w: &Int8Matrix, x: &QuantizedRows, y: &mut [f32]) {
            let rows = y.len() / w.outputs;
            let blocks = w.outputs.div_ceil(LANES);
            for first_block in (0..blocks).step_by(2) {
                let pair = blocks - first_block >= 2;
                for first_row in (0..rows).step_by(ROW_TILE) {
                    let tile = Tile { first_row, first_block };
                    tile!(tile, run, true, rows - first_row, pair, w, x, y);
                }
            }
        }

        /// Where a tile of `R` rows × `C` blocks of outputs starts.
        struct Tile {
            first_row: usize,
            first_block: usize,
        }

        impl Tile {
            /// Sums, scales and stores one tile (`_VNNI` only for the shared dispatch).
            #[inline(always)]
            unsafe fn run<const R: usize, const C: usize, const _VNNI: bool>(
                &self,
                w: &Int8Matrix,
                x: &QuantizedRows,
                y: &mut [f32],
            ) {
                let totals = self.totals::<R, C>(w, x);
                for (r, row_totals) in totals.iter().enumerate() {
                    let row = self.first_row + r;
                    for (c, &total) in row_totals.iter().enumerate() {
                        let first = (self.first_block + c) * LANES;
                        let values = _mm512_mul_ps(total, _mm512_loadu_ps(w.scales.as_ptr().add(first)));
                        let out = y.as_mut_ptr().add(row * w.outputs + first);
                        let kept = (w.outputs - first).min(LANES);
                        _mm512_mask_storeu_ps(out, ((1u32 << kept) - 1) as __mmask16, values);
                    }
                }
            }

            /// `Σ_blocks scale_x × Σ qx·qw` by `dpbusd` on `x + 128`, the offset taken back per scale block.
            #[inline(always)]
            unsafe fn totals<const R: usize, const C: usize>(
                &self,
                w: &Int8Matrix,
                x: &QuantizedRows,
            ) -> [[__m512; C]; R] {
                let padded = w.scales.len();
                let mut totals = [[_mm512_setzero_ps(); C]; R];
                for scale_block in 0..x.blocks {
                    let mut acc = [[_mm512_setzero_si512(); C]; R];
                    for group in scale_block * GROUPS_PER_SCALE..(scale_block + 1) * GROUPS_PER_SCALE {
                        let mut ws = [_mm512_setzero_si512(); C];
                        for (c, slot) in ws.iter_mut().enumerate() {
                            let at = ((self.first_block + c) * w.groups + group) * PACKED;
                            *slot = _mm512_loadu_si512(w.packed.as_ptr().add(at).cast());
                        }
                        for (r, row_acc) in acc.iter_mut().enumerate() {
                            let a = _mm512_set1_epi32(broadcast32(x, self.first_row + r, group));
                            for (sum, &weight) in row_acc.iter_mut().zip(&ws) {
                                *sum = _mm512_dpbusd_epi32(*sum, a, weight);
                            }
                        }
                    }
                    let mut offsets = [_mm512_setzero_si512(); C];
                    for (c, slot) in offsets.iter_mut().enumerate() {
                        let at = scale_block * padded + (self.first_block + c) * LANES;
                        *slot = _mm512_loadu_si512(w.offsets.as_ptr().add(at).cast());
                    }
                    for (r, (row_totals, row_acc)) in totals.iter_mut().zip(&acc).enumerate() {
                        let scale = _mm512_set1_ps(x.scales[(self.first_row + r) * x.blocks + scale_block]);
                        for ((total, &sum), &offset) in row_totals.iter_mut().zip(row_acc).zip(&offsets) {
                            let sum = _mm512_sub_epi32(sum, offset);
                            *total = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), scale, *total);
                        }
                    }
                }
                totals
            }
        }
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

    /// The values `quantize` keeps of `values`, quantized by `block` values at a time within rows of `width`.
    fn stored(values: &[f32], width: usize, block: usize) -> Vec<f32> {
        let mut q = vec![0i8; block];
        values
            .chunks_exact(width)
            .flat_map(|row| row.chunks(block))
            .flat_map(|part| {
                let scale = quantize(part, &mut q[..part.len()]);
                q[..part.len()].iter().map(move |&v| f32::from(v) * scale).collect::<Vec<_>>()
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
            let of_stored = reference(&stored(&w, inputs, inputs), &stored(&x, inputs, SCALE_BLOCK), inputs);
            let error = relative_error(&got, &of_stored);
            assert!(error < 1e-5, "{rows}×{outputs}×{inputs}: {error} from the stored values' product");
            // 8-bit rounding on both sides, with outliers 8× the typical value setting the scales: a few percent.
            let error = relative_error(&got, &reference(&w, &x, inputs));
            assert!(error < 0.05, "{rows}×{outputs}×{inputs}: {error} from the f32 product");
        }
    }

    #[test]
    fn every_kernel_gives_the_portable_results_bit_for_bit() {
        for kernel in [Kernel::Avx2, Kernel::AvxVnni, Kernel::Avx512Vnni] {
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
                if inputs % SCALE_BLOCK == 0 {
                    // Exact halves after scaling (the scale is 1): rounded to even alike.
                    x[..SCALE_BLOCK].copy_from_slice(&[127.0, 2.5, -3.5, 0.5, -0.5, 1.5, 126.5, -126.5].repeat(4));
                }
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
