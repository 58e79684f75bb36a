//! The BERT encoder behind the MiniLM embedder, written for CPU inference with candle's tensors.
//!
//! It computes what `candle_transformers::models::bert::BertModel` computes (the reference-value tests in
//! `minilm.rs` pin the output to an independent implementation), with three changes that matter on a CPU:
//! - linear weights are kept as `(in, out)` row-major matrices, which gemm multiplies without repacking them on
//!   every call (repacking was half the time of a short text);
//! - query, key and value are one `(hidden, 3·hidden)` product instead of three;
//! - bias, activation and residual additions are fused passes ([`super::fused`]);
//! - padding only exists inside attention: every other layer works on the real tokens of the batch;
//! - with [`EmbedderPrecision::Int8`] the four dense products of each layer run on 8-bit weights quantized at
//!   load time ([`super::int8`]); embeddings, LayerNorm, attention and softmax stay in f32.

use std::collections::HashMap;

use candle_core::{DType, Device, Result, Tensor};
use candle_nn::ops::{layer_norm, softmax_last_dim};
use candle_transformers::models::bert::{Config, HiddenAct};

use super::fused::{bias_gelu, bias_residual};
use super::int8::Int8Dense;
use crate::config::EmbedderPrecision;

/// The weights of a loaded BERT encoder.
pub struct Bert {
    word_embeddings: Tensor,
    position_embeddings: Tensor,
    token_type_embedding: Tensor,
    embeddings_norm: Norm,
    layers: Vec<Layer>,
    heads: usize,
    eps: f32,
}

/// `x · weight + bias`.
struct Dense {
    weight: Weight,
    bias: Tensor,
}

/// The weight of a dense product in the precision it runs in.
enum Weight {
    /// Stored `(in, out)`.
    F32(Tensor),
    /// 8-bit, one scale per output.
    Int8(Int8Dense),
}

/// LayerNorm's scale and shift.
struct Norm {
    weight: Tensor,
    bias: Tensor,
}

/// One transformer layer.
struct Layer {
    qkv: Dense,
    attention_out: Dense,
    attention_norm: Norm,
    intermediate: Dense,
    output: Dense,
    output_norm: Norm,
}

/// Takes tensors out of a safetensors map by name.
struct Weights {
    tensors: HashMap<String, Tensor>,
    precision: EmbedderPrecision,
}

impl Weights {
    fn take(&mut self, name: &str) -> Result<Tensor> {
        self.tensors
            .remove(name)
            .ok_or_else(|| candle_core::Error::Msg(format!("no tensor {name}")))
    }

    /// A linear layer's `(out, in)` weight and its bias.
    fn linear(&mut self, prefix: &str) -> Result<(Tensor, Tensor)> {
        Ok((
            self.take(&format!("{prefix}.weight"))?,
            self.take(&format!("{prefix}.bias"))?,
        ))
    }

    /// A linear layer from its `(out, in)` weight and bias, in the loaded precision.
    fn dense(&mut self, prefix: &str) -> Result<Dense> {
        let (weight, bias) = self.linear(prefix)?;
        Dense::new(&weight, bias, self.precision)
    }

    /// Query, key and value side by side: one product with `3·out` outputs.
    fn qkv(&mut self, prefix: &str) -> Result<Dense> {
        let parts = ["query", "key", "value"]
            .iter()
            .map(|part| self.linear(&format!("{prefix}.{part}")))
            .collect::<Result<Vec<_>>>()?;
        let weights: Vec<&Tensor> = parts.iter().map(|(weight, _)| weight).collect();
        let biases: Vec<&Tensor> = parts.iter().map(|(_, bias)| bias).collect();
        Dense::new(&Tensor::cat(&weights, 0)?, Tensor::cat(&biases, 0)?, self.precision)
    }

    fn norm(&mut self, prefix: &str) -> Result<Norm> {
        Ok(Norm {
            weight: self.take(&format!("{prefix}.weight"))?,
            bias: self.take(&format!("{prefix}.bias"))?,
        })
    }
}

impl Dense {
    /// The layer of an `(out, in)` weight (PyTorch's layout) and its bias.
    fn new(weight: &Tensor, bias: Tensor, precision: EmbedderPrecision) -> Result<Self> {
        let weight = match precision {
            EmbedderPrecision::F32 => Weight::F32(weight.t()?.contiguous()?),
            EmbedderPrecision::Int8 => Weight::Int8(Int8Dense::new(weight)?),
        };
        Ok(Self { weight, bias })
    }

    /// `x · weight`, without the bias.
    fn product(&self, x: &Tensor) -> Result<Tensor> {
        match &self.weight {
            Weight::F32(weight) => x.matmul(weight),
            Weight::Int8(weight) => weight.forward(x),
        }
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.product(x)?.broadcast_add(&self.bias)
    }

    /// `gelu(x · weight + bias)`.
    fn forward_gelu(&self, x: &Tensor) -> Result<Tensor> {
        bias_gelu(&self.product(x)?, &self.bias)
    }

    /// `residual + x · weight + bias`.
    fn forward_onto(&self, x: &Tensor, residual: &Tensor) -> Result<Tensor> {
        bias_residual(&self.product(x)?, &self.bias, residual)
    }
}

impl Norm {
    fn forward(&self, x: &Tensor, eps: f32) -> Result<Tensor> {
        layer_norm(x, &self.weight, &self.bias, eps)
    }
}

impl Bert {
    /// Builds the encoder from the tensors of a `BertModel` checkpoint (names as in Hugging Face's, without a
    /// `bert.` prefix), its dense products in `precision`. Only the exact GELU activation is supported, which is
    /// what MiniLM uses.
    pub fn load(tensors: HashMap<String, Tensor>, config: &Config, precision: EmbedderPrecision) -> Result<Self> {
        if config.hidden_act != HiddenAct::Gelu {
            candle_core::bail!("only hidden_act \"gelu\" is supported, not {:?}", config.hidden_act);
        }
        if config.num_attention_heads == 0 || config.hidden_size % config.num_attention_heads != 0 {
            candle_core::bail!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                config.hidden_size,
                config.num_attention_heads
            );
        }
        let mut w = Weights { tensors, precision };
        let layers = (0..config.num_hidden_layers)
            .map(|i| {
                let p = format!("encoder.layer.{i}");
                Ok(Layer {
                    qkv: w.qkv(&format!("{p}.attention.self"))?,
                    attention_out: w.dense(&format!("{p}.attention.output.dense"))?,
                    attention_norm: w.norm(&format!("{p}.attention.output.LayerNorm"))?,
                    intermediate: w.dense(&format!("{p}.intermediate.dense"))?,
                    output: w.dense(&format!("{p}.output.dense"))?,
                    output_norm: w.norm(&format!("{p}.output.LayerNorm"))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let bert = Self {
            word_embeddings: w.take("embeddings.word_embeddings.weight")?,
            position_embeddings: w.take("embeddings.position_embeddings.weight")?,
            token_type_embedding: w.take("embeddings.token_type_embeddings.weight")?.get(0)?,
            embeddings_norm: w.norm("embeddings.LayerNorm")?,
            layers,
            heads: config.num_attention_heads,
            eps: config.layer_norm_eps as f32,
        };
        if bert.word_embeddings.dim(1)? != config.hidden_size {
            candle_core::bail!("word embeddings do not have hidden_size {} columns", config.hidden_size);
        }
        Ok(bert)
    }

    /// The device the weights are on.
    pub fn device(&self) -> &Device {
        self.word_embeddings.device()
    }

    /// Hidden states `(texts, tokens, hidden)` for `ids` and `mask`, both `(texts, tokens)` u32 (mask 1 = a
    /// token, 0 = padding); every text has token type 0. The rows of padding positions hold arbitrary values:
    /// read the result through the mask.
    pub fn forward(&self, ids: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let (texts, tokens) = ids.dims2()?;
        let hidden = self.word_embeddings.dim(1)?;
        if tokens > self.position_embeddings.dim(0)? {
            candle_core::bail!("{tokens} tokens: more than the model's positions");
        }
        let packing = Packing::new(&mask.to_vec2::<u32>()?, self.device())?;
        let words = self
            .word_embeddings
            .index_select(&ids.flatten_all()?.index_select(&packing.tokens, 0)?, 0)?;
        let embedded = (words + self.position_embeddings.index_select(&packing.positions, 0)?)?
            .broadcast_add(&self.token_type_embedding)?;
        let mut x = self.embeddings_norm.forward(&embedded, self.eps)?;
        // 0 where attention may look, the lowest float where it may not (padding): added to the scores.
        let mask = mask.to_dtype(DType::F32)?;
        let blocked = ((mask.ones_like()? - mask)? * f64::from(f32::MIN))?.reshape((texts, 1, 1, tokens))?;
        for layer in &self.layers {
            x = layer.forward(&x, &packing, &blocked, (texts, tokens, self.heads), self.eps)?;
        }
        x.index_select(&packing.grid, 0)?.reshape((texts, tokens, hidden))
    }
}

/// The real tokens of a padded batch, one row each: every layer but attention works on these rows only, so the
/// padding costs nothing in the matrix products.
struct Packing {
    /// For each real token, its place in the padded `texts × tokens` grid.
    tokens: Tensor,
    /// For each real token, its position in its text.
    positions: Tensor,
    /// For each place in the grid, the row of its token (row 0 for padding, which attention masks out).
    grid: Tensor,
}

impl Packing {
    fn new(mask: &[Vec<u32>], device: &Device) -> Result<Self> {
        let (mut tokens, mut positions, mut grid) = (Vec::new(), Vec::new(), Vec::new());
        let width = mask.first().map_or(0, Vec::len);
        for (text, row) in mask.iter().enumerate() {
            for (position, &keep) in row.iter().enumerate() {
                if keep == 0 {
                    grid.push(0);
                } else {
                    grid.push(tokens.len() as u32);
                    tokens.push((text * width + position) as u32);
                    positions.push(position as u32);
                }
            }
        }
        if tokens.is_empty() {
            candle_core::bail!("a batch without tokens");
        }
        Ok(Self {
            tokens: Tensor::new(tokens, device)?,
            positions: Tensor::new(positions, device)?,
            grid: Tensor::new(grid, device)?,
        })
    }
}

impl Layer {
    /// `x` holds one row per real token; so does the result.
    fn forward(
        &self,
        x: &Tensor,
        packing: &Packing,
        blocked: &Tensor,
        (texts, tokens, heads): (usize, usize, usize),
        eps: f32,
    ) -> Result<Tensor> {
        let hidden = x.dim(1)?;
        let head = hidden / heads;
        // Attention runs on the padded grid: (texts, tokens, 3, heads, head) → three (texts, heads, tokens, head).
        let qkv = self
            .qkv
            .forward(x)?
            .index_select(&packing.grid, 0)?
            .reshape((texts, tokens, 3, heads, head))?;
        let part = |i: usize| qkv.narrow(2, i, 1)?.squeeze(2)?.transpose(1, 2)?.contiguous();
        let (q, k, v) = (part(0)?, part(1)?, part(2)?);
        let scores = (q.matmul(&k.t()?)? / (head as f64).sqrt())?.broadcast_add(blocked)?;
        let context = softmax_last_dim(&scores)?
            .matmul(&v)?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((texts * tokens, hidden))?
            .index_select(&packing.tokens, 0)?;
        let attended = self
            .attention_norm
            .forward(&self.attention_out.forward_onto(&context, x)?, eps)?;
        let expanded = self.intermediate.forward_gelu(&attended)?;
        self.output_norm
            .forward(&self.output.forward_onto(&expanded, &attended)?, eps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny random checkpoint in the Hugging Face layout.
    fn tiny(config: &Config) -> Result<HashMap<String, Tensor>> {
        let dev = &Device::Cpu;
        let (h, i) = (config.hidden_size, config.intermediate_size);
        let mut t = HashMap::new();
        let mut put = |name: String, shape: &[usize]| -> Result<()> {
            t.insert(name, Tensor::randn(0f32, 0.5, shape, dev)?);
            Ok(())
        };
        put("embeddings.word_embeddings.weight".into(), &[config.vocab_size, h])?;
        put(
            "embeddings.position_embeddings.weight".into(),
            &[config.max_position_embeddings, h],
        )?;
        put("embeddings.token_type_embeddings.weight".into(), &[2, h])?;
        put("embeddings.LayerNorm.weight".into(), &[h])?;
        put("embeddings.LayerNorm.bias".into(), &[h])?;
        for l in 0..config.num_hidden_layers {
            let p = format!("encoder.layer.{l}");
            for (name, out, inp) in [
                ("attention.self.query", h, h),
                ("attention.self.key", h, h),
                ("attention.self.value", h, h),
                ("attention.output.dense", h, h),
                ("intermediate.dense", i, h),
                ("output.dense", h, i),
            ] {
                put(format!("{p}.{name}.weight"), &[out, inp])?;
                put(format!("{p}.{name}.bias"), &[out])?;
            }
            for n in ["attention.output.LayerNorm", "output.LayerNorm"] {
                put(format!("{p}.{n}.weight"), &[h])?;
                put(format!("{p}.{n}.bias"), &[h])?;
            }
        }
        Ok(t)
    }

    fn config() -> Config {
        Config {
            vocab_size: 50,
            hidden_size: 16,
            num_hidden_layers: 2,
            num_attention_heads: 4,
            intermediate_size: 32,
            max_position_embeddings: 12,
            ..Config::default()
        }
    }

    /// The same weights through candle-transformers' own BertModel give the same hidden states in f32, and
    /// nearly the same with int8 products.
    #[test]
    fn matches_candle_transformers_bert() -> Result<()> {
        let config = config();
        let weights = tiny(&config)?;
        let reference = candle_transformers::models::bert::BertModel::load(
            candle_nn::VarBuilder::from_tensors(weights.clone(), DType::F32, &Device::Cpu),
            &config,
        )?;
        let ids = Tensor::new(&[[1u32, 7, 9, 3, 0, 0], [2, 4, 4, 8, 11, 5]], &Device::Cpu)?;
        let mask = Tensor::new(&[[1u32, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]], &Device::Cpu)?;
        let want = reference.forward(&ids, &ids.zeros_like()?, Some(&mask))?;
        for (precision, tolerance) in [(EmbedderPrecision::F32, 1e-4), (EmbedderPrecision::Int8, 0.15)] {
            let got = Bert::load(weights.clone(), &config, precision)?.forward(&ids, &mask)?;
            assert_eq!(got.dims(), want.dims());
            // Padding positions are undefined in both; compare the real tokens.
            let keep = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
            let difference = (got - &want)?
                .broadcast_mul(&keep)?
                .abs()?
                .max_all()?
                .to_scalar::<f32>()?;
            assert!(difference < tolerance, "{precision}: max difference {difference}");
            eprintln!("{precision}: max difference {difference}");
        }
        Ok(())
    }

    #[test]
    fn refuses_other_activations_and_missing_tensors() -> Result<()> {
        let mut config = config();
        let mut weights = tiny(&config)?;
        config.hidden_act = HiddenAct::Relu;
        assert!(Bert::load(weights.clone(), &config, EmbedderPrecision::F32).is_err());
        config.hidden_act = HiddenAct::Gelu;
        weights.remove("encoder.layer.1.output.dense.bias");
        let error = Bert::load(weights, &config, EmbedderPrecision::Int8)
            .err()
            .map(|e| e.to_string());
        assert!(error.is_some_and(|e| e.contains("encoder.layer.1.output.dense.bias")));
        Ok(())
    }
}
