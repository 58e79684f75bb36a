//! The llama architecture of SmolLM2 over candle, read from a GGUF file, with the attention cache kept outside
//! the weights: one copy of the weights serves every generation, and each generation (or a saved prompt prefix)
//! has its own [`KvCache`]. Adapted from `candle_transformers::models::quantized_llama`, whose cache lives inside
//! the weights and whose mask cannot extend a cached prefix by more than one token at a time.

use std::path::Path;

use candle_core::quantized::{gguf_file, GgmlDType, QMatMul, QTensor};
use candle_core::{DType, Device, IndexOp, Module, Tensor};
use candle_transformers::quantized_nn::RmsNorm;

use quant_kernels::attention::{self, Heads, Rope};
use quant_kernels::{Layout, QuantMatrix, QuantizedInput};

/// Inputs of at least this many tokens (a prompt) are multiplied by expanding the quantized matrix to f32 for the
/// call and using `gemm`'s kernels, which are picked at run time for the CPU (AVX2, AVX-512): many times faster
/// than candle's quantized kernels when those are built without AVX, and the expanded copy lives only for the
/// call. Shorter inputs (one token while decoding) use the AVX2 kernels of `quant_kernels` when the CPU has
/// them, else candle's quantized kernels: both read the 4-bit blocks, 4× less memory than f16.
const EXPAND_FROM_TOKENS: usize = 8;

/// A weight matrix kept quantized, multiplied by whichever kernel suits the input's length.
struct Linear {
    weights: std::sync::Arc<QTensor>,
    quantized: QMatMul,
    /// Set when the AVX2 kernels run here and handle the matrix's layout.
    packed: Option<QuantMatrix>,
}

impl Linear {
    fn new(q: QTensor) -> candle_core::Result<Self> {
        Self::shared(std::sync::Arc::new(q))
    }

    fn shared(weights: std::sync::Arc<QTensor>) -> candle_core::Result<Self> {
        let quantized = QMatMul::from_arc(weights.clone())?;
        let packed = match (layout_of(&weights), weights.shape().dims2()) {
            (Some(layout), Ok((rows, cols))) => QuantMatrix::new(layout, rows, cols, &weights.data()?),
            _ => None,
        };
        Ok(Linear {
            weights,
            quantized,
            packed,
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let tokens = x.dims().iter().rev().nth(1).copied().unwrap_or(1);
        match &self.packed {
            _ if tokens >= EXPAND_FROM_TOKENS => QMatMul::Tensor(self.weights.dequantize(&Device::Cpu)?).forward(x),
            Some(packed) => {
                let data = self.weights.data()?;
                let input: Vec<f32> = x.flatten_all()?.to_vec1()?;
                let mut out = vec![0f32; input.len() / packed.cols() * packed.rows()];
                for (row, y) in input
                    .chunks_exact(packed.cols())
                    .zip(out.chunks_exact_mut(packed.rows()))
                {
                    packed.matvec(&data, &QuantizedInput::new(row), y);
                }
                let mut shape = x.dims().to_vec();
                if let Some(last) = shape.last_mut() {
                    *last = packed.rows();
                }
                Tensor::from_vec(out, shape, x.device())
            }
            None => self.quantized.forward(x),
        }
    }
}

/// The layout of a quantized tensor, when `quant_kernels` handles it.
fn layout_of(q: &QTensor) -> Option<Layout> {
    match q.dtype() {
        GgmlDType::Q4_1 => Some(Layout::Q4_1),
        GgmlDType::Q8_0 => Some(Layout::Q8_0),
        _ => None,
    }
}

/// The token embedding table: read row by row from its quantized blocks (SmolLM2's Q8_0 table is also the
/// output projection, so it is in memory anyway), or expanded to f16 once for other layouts.
enum Embeddings {
    Blocks {
        table: std::sync::Arc<QTensor>,
        layout: Layout,
        width: usize,
    },
    Table(candle_nn::Embedding),
}

impl Embeddings {
    fn new(table: std::sync::Arc<QTensor>, width: usize) -> candle_core::Result<Embeddings> {
        Ok(match layout_of(&table) {
            Some(layout) if width % 32 == 0 => Embeddings::Blocks { table, layout, width },
            _ => Embeddings::Table(candle_nn::Embedding::new(table.dequantize_f16(&Device::Cpu)?, width)),
        })
    }

    /// `(1, tokens, width)` f32 rows.
    fn forward(&self, tokens: &[u32]) -> candle_core::Result<Tensor> {
        match self {
            Embeddings::Blocks { table, layout, width } => {
                let data = table.data()?;
                let row_bytes = width / 32 * layout.bytes();
                let mut rows = Vec::with_capacity(tokens.len() * width);
                for &t in tokens {
                    let start = t as usize * row_bytes;
                    let row = data
                        .get(start..start + row_bytes)
                        .ok_or_else(|| candle_core::Error::Msg(format!("token id {t} outside the vocabulary")))?;
                    quant_kernels::dequantize(*layout, row, &mut rows);
                }
                Tensor::from_vec(rows, (1, tokens.len(), *width), &Device::Cpu)
            }
            Embeddings::Table(table) => table
                .forward(&Tensor::new(tokens, &Device::Cpu)?.unsqueeze(0)?)?
                .to_dtype(DType::F32),
        }
    }
}

/// The model's shape, from the GGUF metadata.
#[derive(Debug, Clone)]
pub struct Config {
    /// Transformer blocks.
    pub layers: usize,
    /// Width of the residual stream.
    pub embedding: usize,
    /// Query heads.
    pub heads: usize,
    /// Key/value heads (grouped-query attention).
    pub kv_heads: usize,
    /// Longest sequence the model was trained for.
    pub context: usize,
}

struct Layer {
    wq: Linear,
    wk: Linear,
    wv: Linear,
    wo: Linear,
    attn_norm: RmsNorm,
    gate: Linear,
    up: Linear,
    down: Linear,
    ffn_norm: RmsNorm,
}

/// The weights, shared by every generation.
pub struct Model {
    /// The shape.
    pub config: Config,
    embed: Embeddings,
    layers: Vec<Layer>,
    norm: RmsNorm,
    output: Linear,
    rope: Rope,
    /// The threads a forward pass runs on. Each of its many small parallel steps (a matrix-vector product, a
    /// softmax) started from a thread outside the pool would put that thread to sleep and wake the workers, a
    /// few microseconds each, hundreds of times per token; inside the pool they are cheap work-stealing joins.
    threads: rayon::ThreadPool,
}

/// The attention keys and values of the tokens seen so far, per layer: `[token][kv head][head dim]`, so that a
/// step appends its token's and the attention reads them where they are.
#[derive(Clone, Default)]
pub struct KvCache {
    layers: Vec<LayerCache>,
    len: usize,
}

#[derive(Clone, Default)]
struct LayerCache {
    keys: Vec<f32>,
    values: Vec<f32>,
}

impl KvCache {
    /// Tokens held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no token was processed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A copy of the cache of the first `n` tokens.
    pub fn truncated(&self, n: usize) -> KvCache {
        let n = n.min(self.len);
        let layers = self
            .layers
            .iter()
            .map(|l| {
                let width = l.keys.len() / self.len.max(1);
                LayerCache {
                    keys: l.keys[..n * width].to_vec(),
                    values: l.values[..n * width].to_vec(),
                }
            })
            .collect();
        KvCache { layers, len: n }
    }

    /// Bytes of key/value data held.
    pub fn bytes(&self) -> usize {
        self.layers
            .iter()
            .map(|l| (l.keys.len() + l.values.len()) * std::mem::size_of::<f32>())
            .sum()
    }
}

impl Model {
    /// Reads a llama-architecture GGUF file.
    pub fn load(path: &Path) -> candle_core::Result<Model> {
        let device = Device::Cpu;
        let mut file =
            std::fs::File::open(path).map_err(|e| candle_core::Error::Msg(format!("{}: {e}", path.display())))?;
        let content = gguf_file::Content::read(&mut file).map_err(|e| e.with_path(path))?;
        let meta = |key: &str| {
            content
                .metadata
                .get(key)
                .ok_or_else(|| candle_core::Error::Msg(format!("GGUF metadata has no {key}")))
        };
        let config = Config {
            layers: meta("llama.block_count")?.to_u32()? as usize,
            embedding: meta("llama.embedding_length")?.to_u32()? as usize,
            heads: meta("llama.attention.head_count")?.to_u32()? as usize,
            kv_heads: meta("llama.attention.head_count_kv")?.to_u32()? as usize,
            context: meta("llama.context_length")?.to_u32()? as usize,
        };
        let eps = f64::from(meta("llama.attention.layer_norm_rms_epsilon")?.to_f32()?);
        let rope_base = meta("llama.rope.freq_base")
            .and_then(|v| v.to_f32())
            .unwrap_or(10_000.0);
        let rope = Rope::new(config.embedding / config.heads, rope_base, config.context);

        let mut tensor = |name: &str| content.tensor(&mut file, name, &device);
        let matmul = Linear::new;
        let embed_q = std::sync::Arc::new(tensor("token_embd.weight")?);
        let embed = Embeddings::new(embed_q.clone(), config.embedding)?;
        let norm = RmsNorm::from_qtensor(tensor("output_norm.weight")?, eps)?;
        // SmolLM2 ties its output projection to the token embeddings.
        let output = match tensor("output.weight") {
            Ok(q) => matmul(q)?,
            Err(_) => Linear::shared(embed_q)?,
        };
        let mut layers = Vec::with_capacity(config.layers);
        for i in 0..config.layers {
            let mut part = |name: &str| tensor(&format!("blk.{i}.{name}.weight"));
            layers.push(Layer {
                wq: matmul(part("attn_q")?)?,
                wk: matmul(part("attn_k")?)?,
                wv: matmul(part("attn_v")?)?,
                wo: matmul(part("attn_output")?)?,
                attn_norm: RmsNorm::from_qtensor(part("attn_norm")?, eps)?,
                gate: matmul(part("ffn_gate")?)?,
                up: matmul(part("ffn_up")?)?,
                down: matmul(part("ffn_down")?)?,
                ffn_norm: RmsNorm::from_qtensor(part("ffn_norm")?, eps)?,
            });
        }
        let threads = rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("chat-model-{i}"))
            .build()
            .map_err(|e| candle_core::Error::Msg(format!("cannot start the model's threads: {e}")))?;
        Ok(Model {
            config,
            embed,
            layers,
            norm,
            output,
            rope,
            threads,
        })
    }

    /// Runs `tokens` after the ones in `cache` (which grows by them) and answers the logits of the last one.
    pub fn forward(&self, tokens: &[u32], cache: &mut KvCache) -> candle_core::Result<Tensor> {
        self.threads.install(|| self.forward_here(tokens, cache))
    }

    fn forward_here(&self, tokens: &[u32], cache: &mut KvCache) -> candle_core::Result<Tensor> {
        let seq = tokens.len();
        let pos = cache.len;
        if pos + seq > self.config.context {
            candle_core::bail!(
                "{} tokens do not fit the model's context of {}",
                pos + seq,
                self.config.context
            );
        }
        if cache.layers.is_empty() {
            cache.layers = vec![LayerCache::default(); self.layers.len()];
        }
        let mut x = self.embed.forward(tokens)?;
        for (layer, kv) in self.layers.iter().zip(cache.layers.iter_mut()) {
            let h = layer.attn_norm.forward(&x)?;
            let h = self.attention(layer, &h, kv, pos)?;
            x = (x + h)?;
            let h = layer.ffn_norm.forward(&x)?;
            let gate = candle_nn::ops::silu(&layer.gate.forward(&h)?)?;
            let h = layer.down.forward(&(gate * layer.up.forward(&h)?)?)?;
            x = (x + h)?;
        }
        cache.len += seq;
        let x = self.norm.forward(&x)?.i((.., seq - 1, ..))?;
        self.output.forward(&x)?.squeeze(0)
    }

    /// The heads of the attention layers.
    fn heads(&self) -> Heads {
        Heads {
            heads: self.config.heads,
            kv_heads: self.config.kv_heads,
            head_dim: self.config.embedding / self.config.heads,
        }
    }

    /// Self-attention of `x`'s tokens (at positions `pos..`), whose keys and values join `kv`.
    fn attention(&self, layer: &Layer, x: &Tensor, kv: &mut LayerCache, pos: usize) -> candle_core::Result<Tensor> {
        let shape = self.heads();
        let values = |linear: &Linear| -> candle_core::Result<Vec<f32>> { linear.forward(x)?.flatten_all()?.to_vec1() };
        let mut q = values(&layer.wq)?;
        let mut k = values(&layer.wk)?;
        self.rope.apply(&mut q, shape.head_dim, pos, shape.heads);
        self.rope.apply(&mut k, shape.head_dim, pos, shape.kv_heads);
        kv.keys.extend_from_slice(&k);
        kv.values.extend_from_slice(&values(&layer.wv)?);
        let mut y = vec![0f32; q.len()];
        attention::attend(&q, &kv.keys, &kv.values, shape, pos, &mut y);
        layer.wo.forward(&Tensor::from_vec(y, x.shape(), x.device())?)
    }
}
