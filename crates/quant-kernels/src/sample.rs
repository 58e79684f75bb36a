//! Picking the next token from a step's logits: a repeat penalty, then the likeliest token or nucleus (top-p)
//! sampling. The nucleus is found without sorting the whole vocabulary (49152 tokens, a few milliseconds per
//! token): only the tokens that can belong to it are sorted.

/// Lowers the logits of the tokens in `recent` (each once, however often it appears): divided by `penalty` when
/// positive, multiplied when negative. A `penalty` of 1 changes nothing.
pub fn penalize_repeats(logits: &mut [f32], recent: &[u32], penalty: f32) {
    let mut seen = recent.to_vec();
    seen.sort_unstable();
    seen.dedup();
    for t in seen {
        if let Some(l) = logits.get_mut(t as usize) {
            *l = if *l < 0.0 { *l * penalty } else { *l / penalty };
        }
    }
}

/// The token with the highest logit (the first of equal ones).
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, l) in logits.iter().enumerate() {
        if *l > logits[best] {
            best = i;
        }
    }
    best as u32
}

/// Weights below this fraction of the likeliest token's are left out of the first, cheap search for the nucleus.
const CANDIDATE_FLOOR: f32 = 1e-4;

/// A token drawn from the softmax of `logits / temperature` restricted to its nucleus: the likeliest tokens
/// whose probabilities, added in decreasing order, first reach `top_p` (all tokens when `top_p` ≥ 1).
/// `uniform` is a random number in `[0, 1)`.
pub fn nucleus(logits: &[f32], temperature: f32, top_p: f32, uniform: f32) -> u32 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let weights: Vec<f32> = logits.iter().map(|l| ((l - max) / temperature).exp()).collect();
    let total: f32 = weights.iter().sum();
    let wanted = top_p.min(1.0) * total;
    // Every token of the nucleus weighs more than every token outside it, so when the heavy tokens alone reach
    // `wanted`, the nucleus is among them; otherwise (a flat distribution) all tokens are sorted.
    let heavy: Vec<usize> = (0..weights.len())
        .filter(|&i| weights[i] >= CANDIDATE_FLOOR)
        .collect();
    let mut order = if heavy.iter().map(|&i| weights[i]).sum::<f32>() >= wanted {
        heavy
    } else {
        (0..weights.len()).collect()
    };
    order.sort_unstable_by(|&a, &b| weights[b].total_cmp(&weights[a]).then(a.cmp(&b)));
    let mut kept = 0f32;
    let mut end = 0;
    while end < order.len() && (end == 0 || kept < wanted) {
        kept += weights[order[end]];
        end += 1;
    }
    let mut target = uniform * kept;
    for &i in &order[..end] {
        target -= weights[i];
        if target < 0.0 {
            return i as u32;
        }
    }
    order[end - 1] as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_penalized_once_each() {
        let mut logits = vec![2.0, -2.0, 4.0];
        penalize_repeats(&mut logits, &[0, 1, 0, 0], 2.0);
        assert_eq!(logits, vec![1.0, -4.0, 4.0]);
    }

    #[test]
    fn argmax_picks_the_first_highest() {
        assert_eq!(argmax(&[0.5, 3.0, 3.0, -1.0]), 1);
    }

    #[test]
    fn the_nucleus_holds_the_likeliest_tokens_up_to_top_p() {
        // Probabilities 0.5, 0.3, 0.15, 0.05 (token order shuffled).
        let logits: Vec<f32> = [0.15f32, 0.5, 0.05, 0.3].iter().map(|p| p.ln()).collect();
        let draw = |u: f32| nucleus(&logits, 1.0, 0.7, u);
        // top_p 0.7 keeps 0.5 and 0.3 (0.8 ≥ 0.7): token 1 for the first 5/8 of draws, token 3 after.
        assert_eq!(draw(0.0), 1);
        assert_eq!(draw(0.6), 1);
        assert_eq!(draw(0.65), 3);
        assert_eq!(draw(0.999), 3);
        // top_p 1 keeps all four.
        assert_eq!(nucleus(&logits, 1.0, 1.0, 0.999), 2);
        // A tiny top_p keeps the likeliest alone.
        assert_eq!(nucleus(&logits, 1.0, 0.01, 0.999), 1);
    }

    #[test]
    fn a_flat_tail_that_outweighs_the_likeliest_tokens_is_searched_whole() {
        // Token 0 weighs 1; 100000 tokens each weigh e^-10 (under the candidate floor) but 4.5 together: the
        // nucleus of 0.9 reaches deep into the tail.
        let mut logits = vec![-10.0f32; 100_001];
        logits[0] = 0.0;
        assert_eq!(nucleus(&logits, 1.0, 0.9, 0.0), 0);
        let deep = nucleus(&logits, 1.0, 0.9, 0.99999);
        assert!((80_000..100_001).contains(&deep), "{deep}");
    }

    #[test]
    fn the_floor_search_agrees_with_sorting_everything() {
        // One likely token and a long tail: the heavy tokens reach top_p, the answer is the same as a full sort.
        let mut logits = vec![-20.0f32; 5000];
        logits[42] = 5.0;
        logits[7] = 4.0;
        logits[9] = 4.5;
        for u in [0.0, 0.3, 0.6, 0.9, 0.99] {
            let t = nucleus(&logits, 0.8, 0.95, u);
            assert!([42, 9, 7].contains(&t), "{t}");
        }
    }
}
