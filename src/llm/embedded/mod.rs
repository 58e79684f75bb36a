//! The embedded chat model: SmolLM2-135M-Instruct run in-process with candle.

pub mod model;
pub mod tokenizer;

#[cfg(test)]
mod probe {
    use super::model::*;
    use std::time::Instant;

    #[test]
    #[ignore]
    fn speed_of_each_format() {
        let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/models/SmolLM2-135M-Instruct.Q4_1.gguf");
        for format in ["hybrid"] {
            let t = Instant::now();
            let m = Model::load(&path).unwrap();
            let load = t.elapsed();
            let prompt: Vec<u32> = (0..300u32).map(|i| 100 + i * 7).collect();
            let mut cache = KvCache::default();
            let t = Instant::now();
            m.forward(&prompt, &mut cache).unwrap();
            let prefill = t.elapsed();
            let t = Instant::now();
            for i in 0..64u32 {
                m.forward(&[200 + i], &mut cache).unwrap();
            }
            let decode = t.elapsed();
            let t = Instant::now();
            m.forward(&prompt[..30], &mut cache).unwrap();
            eprintln!("30 more tokens: {:?}", t.elapsed());
            let rss = std::fs::read_to_string("/proc/self/status").unwrap().lines().find(|l| l.starts_with("VmRSS")).unwrap().to_string();
            eprintln!("{format:?}: load {load:?} prefill 300 {prefill:?} ({:.0} tok/s) decode {:.1} tok/s {rss}", 300.0 / prefill.as_secs_f64(), 64.0 / decode.as_secs_f64());
        }
    }
}
