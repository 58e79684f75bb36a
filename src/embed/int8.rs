//! The int8 dense products of the BERT encoder ([`super::bert`]) as a candle op: the weights are quantized once
//! from the f32 checkpoint (one scale per output), the activations per row on every call, and the products run
//! in `quant_kernels::int8` (AVX-VNNI or AVX2 where the CPU has them, portable loops with the same results
//! elsewhere).

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
use quant_kernels::int8::Int8Matrix;

use super::fused::f32_slice;

/// A dense layer's weight in 8 bits.
pub struct Int8Dense(Int8Matrix);

impl Int8Dense {
    /// Quantizes an `(out, in)` f32 weight (PyTorch's `Linear` layout).
    pub fn new(weight: &Tensor) -> Result<Self> {
        let (outputs, inputs) = weight.dims2()?;
        if inputs == 0 {
            candle_core::bail!("a dense weight without inputs");
        }
        let values = weight.flatten_all()?.to_vec1::<f32>()?;
        Ok(Self(Int8Matrix::new(&values, outputs, inputs)))
    }

    /// `x · weightᵀ` for a contiguous f32 `x` of `(…, in)`: `(…, out)`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.apply_op1_no_bwd(self)
    }
}

impl CustomOp1 for Int8Dense {
    fn name(&self) -> &'static str {
        "int8-dense"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(self.name(), storage, layout)?;
        let mut dims = layout.dims().to_vec();
        match dims.last_mut() {
            Some(last) if *last == self.0.inputs() => *last = self.0.outputs(),
            _ => candle_core::bail!(
                "{}: rows of {:?} for {} inputs",
                self.name(),
                layout.dims(),
                self.0.inputs()
            ),
        }
        let mut y = vec![0f32; x.len() / self.0.inputs() * self.0.outputs()];
        self.0.matmul(x, &mut y);
        Ok((CpuStorage::F32(y), Shape::from(dims)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn the_op_is_close_to_the_f32_product_and_checks_shapes() -> Result<()> {
        let dev = &Device::Cpu;
        let weight = Tensor::randn(0f32, 0.1, (24, 40), dev)?;
        let x = Tensor::randn(0f32, 1.0, (2, 5, 40), dev)?;
        let dense = Int8Dense::new(&weight)?;
        let got = dense.forward(&x)?;
        assert_eq!(got.dims(), [2, 5, 24]);
        let want = x.broadcast_matmul(&weight.t()?)?;
        let error = (&got - &want)?.sqr()?.sum_all()?.sqrt()?.to_scalar::<f32>()?;
        let size = want.sqr()?.sum_all()?.sqrt()?.to_scalar::<f32>()?;
        assert!(error < 0.02 * size, "error {error} of {size}");
        assert!(dense
            .forward(&Tensor::zeros((3, 24), candle_core::DType::F32, dev)?)
            .is_err());
        assert!(
            dense
                .forward(&Tensor::zeros((40, 3), candle_core::DType::F32, dev)?.t()?)
                .is_err(),
            "not contiguous"
        );
        Ok(())
    }
}
