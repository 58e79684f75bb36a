//! The SmolLM2 tokenizer, built from the GGUF file's metadata (no separate `tokenizer.json`): byte-level BPE
//! with its vocabulary and merges, digits split one by one before the byte-level split, and the special tokens
//! (`<|im_start|>`, `<|im_end|>`, `<|endoftext|>`…) kept whole as single ids.

use candle_core::quantized::gguf_file;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::{AddedToken, Tokenizer};

/// GGUF `tokenizer.ggml.token_type` of a control (special) token.
const CONTROL: i32 = 3;

/// Builds the tokenizer from `tokenizer.ggml.*` metadata.
pub fn from_gguf(content: &gguf_file::Content) -> Result<Tokenizer, String> {
    let meta = |key: &str| {
        content
            .metadata
            .get(key)
            .ok_or_else(|| format!("GGUF metadata has no {key}"))
    };
    let strings = |key: &str| -> Result<Vec<String>, String> {
        meta(key)?
            .to_vec()
            .map_err(|e| e.to_string())?
            .iter()
            .map(|v| v.to_string().cloned().map_err(|e| e.to_string()))
            .collect()
    };
    let tokens = strings("tokenizer.ggml.tokens")?;
    let merges = strings("tokenizer.ggml.merges")?
        .into_iter()
        .map(|m| {
            m.split_once(' ')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .ok_or_else(|| format!("bad merge {m:?}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let types: Vec<i32> = meta("tokenizer.ggml.token_type")?
        .to_vec()
        .map_err(|e| e.to_string())?
        .iter()
        .map(|v| v.to_i32().map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let vocab: tokenizers::models::bpe::Vocab = tokens.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(|e| e.to_string())?;
    let mut tokenizer = Tokenizer::new(bpe);
    tokenizer.with_pre_tokenizer(Some(Sequence::new(vec![
        Digits::new(true).into(),
        ByteLevel::new(false, true, true).into(),
    ])));
    tokenizer.with_decoder(Some(ByteLevelDecoder::default()));
    let special: Vec<AddedToken> = tokens
        .iter()
        .zip(&types)
        .filter(|(_, t)| **t == CONTROL)
        .map(|(token, _)| AddedToken::from(token.clone(), true))
        .collect();
    tokenizer.add_special_tokens(&special);
    Ok(tokenizer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn model_path() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/models/SmolLM2-135M-Instruct.Q4_1.gguf")
    }

    fn tokenizer() -> Tokenizer {
        let mut file = std::fs::File::open(model_path()).expect("the chat model (run `make model`)");
        let content = gguf_file::Content::read(&mut file).expect("a GGUF file");
        from_gguf(&content).expect("a tokenizer")
    }

    #[test]
    fn round_trips_accents_cjk_emoji_and_code() {
        let t = tokenizer();
        for text in [
            "Hello, world!",
            "Crème brûlée à l'Élysée, naïve façade",
            "東京は日本の首都です。你好，世界！",
            "I ❤️ 🦀 and 👩‍👩‍👧‍👦!",
            "fn main() {\n    println!(\"{}\", 1 + 2);\n}\n\ttabs  and  spaces",
            "Numbers 12345 and 3.14159",
        ] {
            let ids = t.encode(text, false).unwrap().get_ids().to_vec();
            assert!(!ids.is_empty());
            assert_eq!(t.decode(&ids, false).unwrap(), text, "{ids:?}");
        }
    }

    #[test]
    fn digits_are_split_one_by_one() {
        let t = tokenizer();
        let enc = t.encode("2024", false).unwrap();
        assert_eq!(enc.get_tokens(), &["2", "0", "2", "4"]);
    }

    #[test]
    fn special_tokens_are_single_ids() {
        let t = tokenizer();
        for (token, id) in [("<|endoftext|>", 0), ("<|im_start|>", 1), ("<|im_end|>", 2)] {
            assert_eq!(t.token_to_id(token), Some(id));
            let ids = t.encode(format!("a{token}b"), false).unwrap().get_ids().to_vec();
            assert_eq!(ids.len(), 3, "{token}: {ids:?}");
            assert_eq!(ids[1], id);
        }
        let ids = t
            .encode("<|im_start|>user\nHi<|im_end|>\n", false)
            .unwrap()
            .get_ids()
            .to_vec();
        assert_eq!(ids.first(), Some(&1));
        assert!(ids.contains(&2));
    }
}
