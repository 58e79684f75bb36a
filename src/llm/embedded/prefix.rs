//! Saved attention caches of recent prompts: a new prompt that starts with the same tokens (the persona's system
//! prompt, the history of the same chat) resumes from the longest shared prefix instead of processing it again.

use std::collections::VecDeque;

use super::model::KvCache;

/// Tokens of cache kept in all: each costs 46 KB with SmolLM2-135M (30 layers × keys and values × 3 heads × 64
/// × 4 bytes), so 1024 tokens hold ~47 MB: the last turns of four or five chats with a persona.
const MAX_TOKENS: usize = 1024;

/// The most recently used prompts' caches, newest last.
#[derive(Default)]
pub struct PrefixCache {
    entries: VecDeque<(Vec<u32>, KvCache)>,
}

fn shared_prefix(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

impl PrefixCache {
    /// The cache of the longest saved prefix of `tokens` (leaving at least one token to process, whose logits
    /// the caller needs), or an empty one.
    pub fn resume(&mut self, tokens: &[u32]) -> KvCache {
        let best = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, (saved, _))| (i, shared_prefix(saved, tokens).min(tokens.len().saturating_sub(1))))
            .max_by_key(|(_, n)| *n);
        match best {
            Some((i, n)) if n > 0 => {
                let Some(entry) = self.entries.remove(i) else {
                    return KvCache::default();
                };
                let resumed = entry.1.truncated(n);
                self.entries.push_back(entry);
                resumed
            }
            _ => KvCache::default(),
        }
    }

    /// Saves the cache of `tokens`, dropping the least recently used ones past the budget.
    pub fn save(&mut self, tokens: Vec<u32>, cache: KvCache) {
        if tokens.len() != cache.len() || tokens.len() > MAX_TOKENS {
            return;
        }
        // A saved prompt this one extends is now redundant.
        self.entries
            .retain(|(saved, _)| shared_prefix(saved, &tokens) < saved.len());
        self.entries.push_back((tokens, cache));
        while self.entries.iter().map(|(t, _)| t.len()).sum::<usize>() > MAX_TOKENS {
            self.entries.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_prefix_counts_equal_leading_tokens() {
        assert_eq!(shared_prefix(&[1, 2, 3], &[1, 2, 4]), 2);
        assert_eq!(shared_prefix(&[1, 2], &[1, 2, 3]), 2);
        assert_eq!(shared_prefix(&[], &[1]), 0);
    }

    #[test]
    fn nothing_saved_resumes_empty() {
        let mut cache = PrefixCache::default();
        assert!(cache.resume(&[1, 2, 3]).is_empty());
        // A cache whose length does not match its tokens is not kept.
        cache.save(vec![1, 2, 3], KvCache::default());
        assert!(cache.resume(&[1, 2, 3]).is_empty());
    }
}
