//! Rotary position embeddings and causal grouped-query attention over a key/value cache that grows by appending
//! (`[token][kv head][head dim]`, so a new token's keys are one `extend`): no per-token copy of the whole cache,
//! no repeated key heads.

use rayon::prelude::*;

/// Heads of one attention layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heads {
    /// Query heads.
    pub heads: usize,
    /// Key/value heads (each shared by `heads / kv_heads` query heads).
    pub kv_heads: usize,
    /// Values per head.
    pub head_dim: usize,
}

impl Heads {
    /// Values per token of the queries (and of the attention's output).
    pub fn query_width(self) -> usize {
        self.heads * self.head_dim
    }

    /// Values per token of the keys (and of the values).
    pub fn kv_width(self) -> usize {
        self.kv_heads * self.head_dim
    }
}

/// The cosines and sines of rotary position embeddings, `head_dim / 2` of each per position.
pub struct Rope {
    half: usize,
    cos: Vec<f32>,
    sin: Vec<f32>,
}

impl Rope {
    /// The tables for positions `0..positions`, frequencies `base^(-2i / head_dim)`.
    pub fn new(head_dim: usize, base: f32, positions: usize) -> Rope {
        let half = head_dim / 2;
        let theta: Vec<f32> = (0..half)
            .map(|i| 1.0 / base.powf(2.0 * i as f32 / head_dim as f32))
            .collect();
        let angles = (0..positions).flat_map(|p| theta.iter().map(move |t| p as f32 * t));
        let (cos, sin) = angles.map(|a| (a.cos(), a.sin())).unzip();
        Rope { half, cos, sin }
    }

    /// Positions the tables cover.
    pub fn positions(&self) -> usize {
        self.cos.len() / self.half.max(1)
    }

    /// Rotates the consecutive pairs of each head of `x` (`[token][head][head_dim]`, tokens at positions
    /// `first..`), the interleaved layout of ggml's llama weights.
    ///
    /// # Panics
    /// When the positions run past the tables.
    pub fn apply(&self, x: &mut [f32], head_dim: usize, first: usize, heads: usize) {
        for (t, token) in x.chunks_exact_mut(heads * head_dim).enumerate() {
            let at = (first + t) * self.half;
            let (cos, sin) = (&self.cos[at..at + self.half], &self.sin[at..at + self.half]);
            for head in token.chunks_exact_mut(head_dim) {
                for ((pair, c), s) in head.chunks_exact_mut(2).zip(cos).zip(sin) {
                    let (a, b) = (pair[0], pair[1]);
                    pair[0] = a * c - b * s;
                    pair[1] = a * s + b * c;
                }
            }
        }
    }
}

/// `a · b`, eight lanes at a time (a shape the compiler turns into SIMD).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8.remainder().iter().zip(b8.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in a8.zip(b8) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// Causal attention of `seq` new tokens at positions `first..first + seq`: `queries` is `[seq][heads][head_dim]`,
/// `keys` and `values` are `[first + seq][kv_heads][head_dim]` (the cache, new tokens included); each new token
/// looks at the positions up to its own. Writes `[seq][heads][head_dim]` to `out`.
///
/// # Panics
/// When the slices do not have these sizes.
pub fn attend(queries: &[f32], keys: &[f32], values: &[f32], shape: Heads, first: usize, out: &mut [f32]) {
    let Heads {
        heads,
        kv_heads,
        head_dim,
    } = shape;
    let seq = queries.len() / shape.query_width();
    assert_eq!(queries.len(), seq * shape.query_width(), "query size");
    assert_eq!(keys.len(), (first + seq) * shape.kv_width(), "key cache size");
    assert_eq!(values.len(), keys.len(), "value cache size");
    assert_eq!(out.len(), queries.len(), "output size");
    let group = heads / kv_heads;
    let scale = 1.0 / (head_dim as f32).sqrt();
    out.par_chunks_mut(head_dim)
        .zip(queries.par_chunks(head_dim))
        .enumerate()
        .for_each_init(Vec::new, |scores, (i, (y, q))| {
            let (t, h) = (i / heads, i % heads);
            let kv = (h / group) * head_dim;
            let seen = first + t + 1;
            scores.clear();
            scores.extend((0..seen).map(|p| {
                let at = p * shape.kv_width() + kv;
                dot(q, &keys[at..at + head_dim]) * scale
            }));
            let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut total = 0f32;
            for s in scores.iter_mut() {
                *s = (*s - max).exp();
                total += *s;
            }
            y.fill(0.0);
            for (p, s) in scores.iter().enumerate() {
                let at = p * shape.kv_width() + kv;
                let w = s / total;
                for (o, v) in y.iter_mut().zip(&values[at..at + head_dim]) {
                    *o += w * v;
                }
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Attention written the plain way: every query head against its key head, a full softmax.
    fn reference(q: &[f32], k: &[f32], v: &[f32], shape: Heads, first: usize) -> Vec<f32> {
        let seq = q.len() / shape.query_width();
        let mut out = vec![0f32; q.len()];
        for t in 0..seq {
            for h in 0..shape.heads {
                let kv = h / (shape.heads / shape.kv_heads);
                let qh = &q[(t * shape.heads + h) * shape.head_dim..][..shape.head_dim];
                let scores: Vec<f32> = (0..=first + t)
                    .map(|p| {
                        let kh = &k[(p * shape.kv_heads + kv) * shape.head_dim..][..shape.head_dim];
                        qh.iter().zip(kh).map(|(a, b)| a * b).sum::<f32>() / (shape.head_dim as f32).sqrt()
                    })
                    .collect();
                let z: f32 = scores.iter().map(|s| s.exp()).sum();
                for (p, s) in scores.iter().enumerate() {
                    let vh = &v[(p * shape.kv_heads + kv) * shape.head_dim..][..shape.head_dim];
                    for d in 0..shape.head_dim {
                        out[(t * shape.heads + h) * shape.head_dim + d] += s.exp() / z * vh[d];
                    }
                }
            }
        }
        out
    }

    fn values(n: usize, seed: usize) -> Vec<f32> {
        (0..n).map(|i| (((i * 31 + seed * 17) % 97) as f32 - 48.0) / 50.0).collect()
    }

    #[test]
    fn attention_matches_the_plain_formula_with_a_cached_prefix() {
        let shape = Heads {
            heads: 6,
            kv_heads: 2,
            head_dim: 12,
        };
        let (first, seq) = (5, 3);
        let q = values(seq * shape.query_width(), 1);
        let k = values((first + seq) * shape.kv_width(), 2);
        let v = values((first + seq) * shape.kv_width(), 3);
        let mut out = vec![0f32; q.len()];
        attend(&q, &k, &v, shape, first, &mut out);
        for (a, b) in out.iter().zip(reference(&q, &k, &v, shape, first)) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
    }

    #[test]
    fn a_token_sees_nothing_after_itself() {
        let shape = Heads {
            heads: 2,
            kv_heads: 1,
            head_dim: 4,
        };
        let q = values(2 * shape.query_width(), 1);
        let k = values(2 * shape.kv_width(), 2);
        let mut v = values(2 * shape.kv_width(), 3);
        let mut before = vec![0f32; q.len()];
        attend(&q, &k, &v, shape, 0, &mut before);
        // Changing the second token's values leaves the first token's output alone.
        v[4..].iter_mut().for_each(|x| *x += 10.0);
        let mut after = vec![0f32; q.len()];
        attend(&q, &k, &v, shape, 0, &mut after);
        assert_eq!(before[..shape.query_width()], after[..shape.query_width()]);
        assert_ne!(before[shape.query_width()..], after[shape.query_width()..]);
    }

    #[test]
    fn rope_rotates_pairs_by_position() {
        let rope = Rope::new(4, 10_000.0, 8);
        assert_eq!(rope.positions(), 8);
        let mut x = vec![1.0, 0.0, 1.0, 0.0];
        rope.apply(&mut x, 4, 0, 1);
        // Position 0 does not rotate.
        assert_eq!(x, vec![1.0, 0.0, 1.0, 0.0]);
        rope.apply(&mut x, 4, 3, 1);
        // Position 3, first pair: angle 3 × 1; second pair: angle 3 × 10000^(-1/2).
        let slow = 3.0f32 * 0.01;
        let expected = [3f32.cos(), 3f32.sin(), slow.cos(), slow.sin()];
        for (a, b) in x.iter().zip(expected) {
            assert!((a - b).abs() < 1e-5, "{x:?}");
        }
    }
}
