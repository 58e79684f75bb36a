//! Fused element-wise passes of the BERT encoder, each one loop over a matrix instead of several candle ops that
//! each allocate a new tensor:
//! - `gelu(x + b)` with the exact (erf) GELU after the feed-forward product; candle's separate bias add and
//!   scalar `erf` per element took a fifth of a forward pass;
//! - `x + b + r`, a product's bias and the residual it is added to.
//!
//! `erf` is the rational approximation XLA and Eigen use for `f32` (odd polynomial over even polynomial on
//! `[-4, 4]`, ±1 outside): about 1e-7 from the true value, branch-free, so the loop vectorises.

use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Shape, Tensor};

/// `erf(x)` in `f32`, within a few units in the last place of the true value.
pub fn erf(x: f32) -> f32 {
    const ALPHA: [f32; 7] = [
        -2.726_142_4e-10,
        2.770_681_5e-8,
        -2.101_024e-6,
        -5.692_506_2e-5,
        -7.349_906_4e-4,
        -2.954_6e-3,
        -1.609_603_3e-2,
    ];
    const BETA: [f32; 5] = [
        -1.456_607_15e-5,
        -2.133_740_5e-4,
        -1.682_827e-3,
        -7.373_329_3e-3,
        -1.426_473_9e-2,
    ];
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let p = ALPHA.iter().fold(0.0, |acc, &a| acc * x2 + a);
    let q = BETA.iter().fold(0.0, |acc, &b| acc * x2 + b);
    x * p / q
}

/// The exact GELU, `x · Φ(x)`.
pub fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// `gelu(x + bias)` for a contiguous `(rows, n)` f32 matrix and an `n` bias.
pub fn bias_gelu(x: &Tensor, bias: &Tensor) -> candle_core::Result<Tensor> {
    x.apply_op2_no_bwd(bias, &BiasGelu)
}

/// `x + bias + residual` for contiguous `(rows, n)` f32 matrices `x` and `residual` and an `n` bias.
pub fn bias_residual(x: &Tensor, bias: &Tensor, residual: &Tensor) -> candle_core::Result<Tensor> {
    x.apply_op3_no_bwd(bias, residual, &BiasResidual)
}

/// The contiguous f32 data of a tensor, or an error naming the op.
pub(super) fn f32_slice<'a>(op: &str, storage: &'a CpuStorage, layout: &Layout) -> candle_core::Result<&'a [f32]> {
    let CpuStorage::F32(data) = storage else {
        candle_core::bail!("{op}: f32 only");
    };
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("{op}: contiguous tensors only");
    };
    Ok(&data[start..end])
}

/// The rows of `x` and a `bias` with one value per column of them, both contiguous f32.
fn rows_and_bias<'a>(
    op: &str,
    (x, x_layout): (&'a CpuStorage, &Layout),
    (bias, bias_layout): (&'a CpuStorage, &Layout),
) -> candle_core::Result<(&'a [f32], &'a [f32])> {
    let (x, bias) = (f32_slice(op, x, x_layout)?, f32_slice(op, bias, bias_layout)?);
    if bias.is_empty() || x_layout.dims().last() != Some(&bias.len()) {
        candle_core::bail!("{op}: bias of {} for rows of {:?}", bias.len(), x_layout.dims());
    }
    Ok((x, bias))
}

/// The candle op behind [`bias_gelu`].
struct BiasGelu;

impl CustomOp2 for BiasGelu {
    fn name(&self) -> &'static str {
        "bias-gelu-erf"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        x_layout: &Layout,
        bias: &CpuStorage,
        bias_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (x_data, bias) = rows_and_bias(self.name(), (x, x_layout), (bias, bias_layout))?;
        let mut out = Vec::with_capacity(x_data.len());
        for row in x_data.chunks_exact(bias.len()) {
            out.extend(row.iter().zip(bias).map(|(&v, &b)| gelu(v + b)));
        }
        Ok((CpuStorage::F32(out), x_layout.shape().clone()))
    }
}

/// The candle op behind [`bias_residual`].
struct BiasResidual;

impl CustomOp3 for BiasResidual {
    fn name(&self) -> &'static str {
        "bias-residual"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        x_layout: &Layout,
        bias: &CpuStorage,
        bias_layout: &Layout,
        residual: &CpuStorage,
        residual_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (x_data, bias) = rows_and_bias(self.name(), (x, x_layout), (bias, bias_layout))?;
        let residual = f32_slice(self.name(), residual, residual_layout)?;
        if residual_layout.dims() != x_layout.dims() {
            candle_core::bail!(
                "{}: residual {:?} for {:?}",
                self.name(),
                residual_layout.dims(),
                x_layout.dims()
            );
        }
        let mut out = Vec::with_capacity(x_data.len());
        for (row, res) in x_data.chunks_exact(bias.len()).zip(residual.chunks_exact(bias.len())) {
            out.extend(row.iter().zip(bias).zip(res).map(|((&v, &b), &r)| v + b + r));
        }
        Ok((CpuStorage::F32(out), x_layout.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// erf in f64 by its Taylor series (exact enough for |x| ≤ 3) and the continued fraction of erfc beyond.
    fn erf_reference(x: f64) -> f64 {
        if x.abs() > 3.0 {
            // erfc(x) = exp(-x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + …)))) for x > 0.
            let a = x.abs();
            let mut fraction = 0.0;
            for k in (1..60).rev() {
                fraction = (k as f64 / 2.0) / (a + fraction);
            }
            let erfc = (-a * a).exp() / std::f64::consts::PI.sqrt() / (a + fraction);
            return (1.0 - erfc).copysign(x);
        }
        let (mut term, mut sum) = (x, x);
        for n in 1..200 {
            term *= -x * x / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn erf_is_within_a_millionth_everywhere() {
        let mut worst = 0f64;
        for i in -8000..=8000 {
            let x = i as f64 / 1000.0;
            worst = worst.max((erf(x as f32) as f64 - erf_reference(x)).abs());
        }
        assert!(worst < 1e-6, "largest error {worst}");
        assert_eq!(erf(0.0), 0.0);
        assert!((erf(50.0) - 1.0).abs() < 1e-6 && (erf(-50.0) + 1.0).abs() < 1e-6);
    }

    #[test]
    fn gelu_matches_its_definition() {
        for x in [-5.0f32, -1.0, -0.1, 0.0, 0.3, 1.0, 2.5, 7.0] {
            let exact = 0.5 * x as f64 * (1.0 + erf_reference(x as f64 / std::f64::consts::SQRT_2));
            assert!((gelu(x) as f64 - exact).abs() < 1e-6, "gelu({x})");
        }
    }

    #[test]
    fn bias_gelu_adds_the_bias_per_column() -> candle_core::Result<()> {
        let x = Tensor::new(&[[0.0f32, 1.0, -2.0], [0.5, -0.5, 3.0]], &Device::Cpu)?;
        let bias = Tensor::new(&[1.0f32, 0.0, -1.0], &Device::Cpu)?;
        let got = bias_gelu(&x, &bias)?.to_vec2::<f32>()?;
        let want = [[gelu(1.0), gelu(1.0), gelu(-3.0)], [gelu(1.5), gelu(-0.5), gelu(2.0)]];
        assert_eq!(got, want);
        assert!(bias_gelu(&x, &Tensor::new(&[1.0f32, 2.0], &Device::Cpu)?).is_err());
        Ok(())
    }

    #[test]
    fn bias_residual_adds_both() -> candle_core::Result<()> {
        let x = Tensor::new(&[[0.0f32, 1.0], [2.0, 3.0]], &Device::Cpu)?;
        let bias = Tensor::new(&[10.0f32, 20.0], &Device::Cpu)?;
        let residual = Tensor::new(&[[0.5f32, 0.25], [-1.0, -2.0]], &Device::Cpu)?;
        let got = bias_residual(&x, &bias, &residual)?.to_vec2::<f32>()?;
        assert_eq!(got, [[10.5, 21.25], [11.0, 21.0]]);
        assert!(bias_residual(&x, &bias, &residual.narrow(0, 0, 1)?).is_err());
        assert!(bias_residual(&x, &bias, &residual.t()?).is_err(), "not contiguous");
        Ok(())
    }
}
