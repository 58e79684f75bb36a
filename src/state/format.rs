//! The state file format, version 1.2 (1.0 had no `avatars` part, 1.1 no `media` part):
//!
//! ```text
//! PERSONA-MCP-STATE\n                      magic line
//! {"format_version":"1.2",…}\n             header: one JSON line (created_at, app_version, counts, embedder)
//! zstd( tar( manifest.json, <table>.jsonl …, avatars.jsonl, media.jsonl ) )   body: one JSON line per row,
//!                                           one part per table, the avatars and the chat pictures
//!                                           (`crate::state::images`)
//! 32 bytes                                  SHA-256 of everything before it
//! ```
//!
//! The manifest lists every part with its row count and SHA-256. Readers accept any minor version of major 1
//! (minor versions only add fields and parts) and refuse a newer major version.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::StateError;
use crate::storage::snapshot::{RowSink, RowSource, TABLES};

/// First line of every state file.
pub const MAGIC: &[u8] = b"PERSONA-MCP-STATE\n";
/// The format this build writes.
pub const FORMAT_VERSION: &str = "1.2";
/// The major version this build reads.
const MAJOR: u64 = 1;
/// Name of the manifest inside the body.
const MANIFEST: &str = "manifest.json";
/// Longest header line accepted.
const MAX_HEADER: u64 = 64 * 1024;
/// Length of the trailing checksum.
const TRAILER: u64 = 32;
/// zstd level: fast, and still several times smaller than the JSON.
const ZSTD_LEVEL: i32 = 3;

/// Which embedder made the stored vectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbedderInfo {
    /// The embedder's name.
    pub name: String,
    /// Its vector dimension.
    pub dimension: usize,
}

/// The header line: readable without decompressing anything.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    /// `MAJOR.MINOR`.
    pub format_version: String,
    /// When the snapshot was taken (RFC 3339).
    pub created_at: String,
    /// The server version that wrote it.
    pub app_version: String,
    /// Rows per table.
    pub counts: BTreeMap<String, u64>,
    /// The embedder configured when it was taken (its vectors are in the `memories` part), if any.
    pub embedder: Option<EmbedderInfo>,
}

/// One table's part in the manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Part {
    /// Table name.
    pub table: String,
    /// File name inside the tar.
    pub file: String,
    /// Rows (lines).
    pub rows: u64,
    /// Bytes.
    pub bytes: u64,
    /// Hex SHA-256 of the part.
    pub sha256: String,
}

/// `manifest.json`: the header plus every part's checksum.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Same as the header's.
    #[serde(flatten)]
    pub header: Header,
    /// The parts, in [`TABLES`] order.
    pub parts: Vec<Part>,
}

/// A checked state file.
#[derive(Debug, Clone)]
pub struct Verified {
    /// Its header.
    pub header: Header,
    /// Hex of the trailing SHA-256.
    pub checksum: String,
    /// File size.
    pub bytes: u64,
}

/// Collects exported rows into one JSONL file per table under a staging directory, hashing as it goes.
pub struct PartWriter {
    dir: PathBuf,
    open: Option<(String, HashingWriter<BufWriter<File>>, u64)>,
    parts: Vec<Part>,
}

impl PartWriter {
    /// Writes parts into `dir` (created, must not exist yet).
    pub fn new(dir: &Path) -> Result<Self, StateError> {
        std::fs::create_dir(dir).map_err(StateError::io(dir))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            open: None,
            parts: Vec::new(),
        })
    }

    fn close_current(&mut self) -> io::Result<()> {
        if let Some((table, mut w, rows)) = self.open.take() {
            w.inner.flush()?;
            self.parts.push(Part {
                file: format!("{table}.jsonl"),
                table,
                rows,
                bytes: w.bytes,
                sha256: hex(&w.hasher.finalize_reset()),
            });
        }
        Ok(())
    }

    fn start(&mut self, table: &str) -> io::Result<()> {
        self.close_current()?;
        let file = File::create(self.dir.join(format!("{table}.jsonl")))?;
        self.open = Some((table.to_string(), HashingWriter::new(BufWriter::new(file)), 0));
        Ok(())
    }

    /// Closes the last part and answers every table's part (empty ones included), in [`TABLES`] order.
    pub fn finish(mut self) -> Result<Vec<Part>, StateError> {
        self.close_current().map_err(StateError::io(&self.dir))?;
        for table in TABLES {
            if !self.parts.iter().any(|p| p.table == table) {
                self.start(table).map_err(StateError::io(&self.dir))?;
                self.close_current().map_err(StateError::io(&self.dir))?;
            }
        }
        let mut parts = self.parts;
        parts.sort_by_key(|p| TABLES.iter().position(|t| *t == p.table));
        Ok(parts)
    }
}

impl RowSink for PartWriter {
    fn row(&mut self, table: &str, json: &[u8]) -> Result<(), String> {
        if self.open.as_ref().map(|(t, _, _)| t.as_str()) != Some(table) {
            self.start(table).map_err(|e| e.to_string())?;
        }
        let (_, w, rows) = self.open.as_mut().ok_or("no open part")?;
        w.write_all(json)
            .and_then(|_| w.write_all(b"\n"))
            .map_err(|e| e.to_string())?;
        *rows += 1;
        Ok(())
    }
}

/// Reads the parts a [`read`] extracted, table by table.
pub struct PartReader {
    dir: PathBuf,
    expected: Vec<String>,
    open: Option<(String, BufReader<File>)>,
}

impl PartReader {
    /// Reads the parts in `dir`, which must hold a part for every table of `header`.
    pub fn new(dir: &Path, header: &Header) -> Self {
        Self {
            dir: dir.to_path_buf(),
            expected: header.counts.keys().cloned().collect(),
            open: None,
        }
    }
}

impl RowSource for PartReader {
    fn next_row(&mut self, table: &str) -> Result<Option<Vec<u8>>, String> {
        if self.open.as_ref().map(|(t, _)| t.as_str()) != Some(table) {
            let path = self.dir.join(format!("{table}.jsonl"));
            match File::open(&path) {
                Ok(f) => self.open = Some((table.to_string(), BufReader::new(f))),
                // A table the file's version did not have: no rows.
                Err(e) if e.kind() == io::ErrorKind::NotFound && !self.expected.iter().any(|t| t == table) => {
                    return Ok(None)
                }
                Err(e) => return Err(format!("{}: {e}", path.display())),
            }
        }
        let (_, reader) = self.open.as_mut().ok_or("no open part")?;
        let mut line = Vec::new();
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line).map_err(|e| e.to_string())? == 0 {
                return Ok(None);
            }
            if line.last() == Some(&b'\n') {
                line.pop();
            }
            if !line.is_empty() {
                return Ok(Some(line));
            }
        }
    }
}

/// Writes the state file `out` from the staged `parts` in `dir`: header, compressed tar, trailing checksum;
/// fsynced. Answers the file's size and hex checksum.
pub fn write(out: &Path, header: &Header, dir: &Path, parts: Vec<Part>) -> Result<(u64, String), StateError> {
    let io_err = StateError::io(out);
    let file = File::create(out).map_err(&io_err)?;
    let mut w = HashingWriter::new(BufWriter::new(file));
    w.write_all(MAGIC).map_err(&io_err)?;
    let mut line = serde_json::to_vec(header).map_err(|e| StateError::Internal(e.to_string()))?;
    line.push(b'\n');
    w.write_all(&line).map_err(&io_err)?;
    let manifest = Manifest {
        header: header.clone(),
        parts,
    };
    let manifest_json = serde_json::to_vec_pretty(&manifest).map_err(|e| StateError::Internal(e.to_string()))?;
    let encoder = zstd::Encoder::new(&mut w, ZSTD_LEVEL).map_err(&io_err)?;
    let mut tar = tar::Builder::new(encoder);
    append(&mut tar, MANIFEST, manifest_json.len() as u64, &manifest_json[..]).map_err(&io_err)?;
    for part in &manifest.parts {
        let path = dir.join(&part.file);
        let f = File::open(&path).map_err(StateError::io(&path))?;
        append(&mut tar, &part.file, part.bytes, f).map_err(&io_err)?;
    }
    tar.into_inner().and_then(|e| e.finish()).map_err(&io_err)?;
    let digest = w.hasher.finalize_reset();
    w.inner.write_all(&digest).map_err(&io_err)?;
    let file = w.inner.into_inner().map_err(|e| io_err(e.into_error()))?;
    file.sync_all().map_err(&io_err)?;
    Ok((w.bytes + TRAILER, hex(&digest)))
}

fn append<W: Write>(tar: &mut tar::Builder<W>, name: &str, size: u64, data: impl Read) -> io::Result<()> {
    let mut h = tar::Header::new_gnu();
    h.set_size(size);
    h.set_mode(0o644);
    h.set_cksum();
    tar.append_data(&mut h, name, data)
}

/// Reads only the magic and the header of a state file (for listings).
pub fn read_header(path: &Path) -> Result<Header, StateError> {
    let file = File::open(path).map_err(StateError::io(path))?;
    let mut r = BufReader::new(file);
    header_of(&mut r)
}

fn header_of(r: &mut impl BufRead) -> Result<Header, StateError> {
    let mut magic = vec![0; MAGIC.len()];
    if r.read_exact(&mut magic).is_err() || magic != MAGIC {
        return Err(StateError::Refused("not a persona-mcp state file".into()));
    }
    let mut line = Vec::new();
    r.take(MAX_HEADER)
        .read_until(b'\n', &mut line)
        .map_err(|e| StateError::Refused(format!("unreadable header: {e}")))?;
    let header: Header = serde_json::from_slice(&line)
        .map_err(|e| StateError::Refused(format!("not a persona-mcp state file (bad header: {e})")))?;
    let major = header
        .format_version
        .split('.')
        .next()
        .and_then(|m| m.parse::<u64>().ok())
        .ok_or_else(|| StateError::Refused(format!("bad format_version {:?}", header.format_version)))?;
    if major > MAJOR {
        return Err(StateError::Refused(format!(
            "state file format {} is newer than this server reads ({MAJOR}.x); upgrade persona-mcp",
            header.format_version
        )));
    }
    Ok(header)
}

/// Checks a state file completely (magic, version, whole-file checksum, manifest, every part's checksum and
/// row count) without changing anything; with `extract_to`, also writes the parts there for
/// [`PartReader`].
pub fn read(path: &Path, extract_to: Option<&Path>) -> Result<Verified, StateError> {
    let io_err = StateError::io(path);
    let mut file = File::open(path).map_err(&io_err)?;
    let len = file.metadata().map_err(&io_err)?.len();
    let header = header_of(&mut BufReader::new(&mut file))?;
    if len < MAGIC.len() as u64 + TRAILER {
        return Err(StateError::Refused("state file is truncated".into()));
    }
    // Whole-file checksum first: nothing is decompressed from a damaged file.
    file.seek(SeekFrom::Start(0)).map_err(&io_err)?;
    let mut hasher = Sha256::new();
    io::copy(&mut (&mut file).take(len - TRAILER), &mut HashWrite(&mut hasher)).map_err(&io_err)?;
    let mut trailer = [0u8; TRAILER as usize];
    file.read_exact(&mut trailer).map_err(&io_err)?;
    let digest = hasher.finalize();
    if digest.as_slice() != trailer {
        return Err(StateError::Refused(
            "state file checksum mismatch: the file is corrupt or truncated".into(),
        ));
    }
    // Then the body: skip magic and header, decompress, check the manifest and each part.
    file.seek(SeekFrom::Start(0)).map_err(&io_err)?;
    let mut r = BufReader::new((&mut file).take(len - TRAILER));
    header_of(&mut r)?;
    let decoder = zstd::Decoder::with_buffer(r).map_err(|e| StateError::Refused(format!("bad body: {e}")))?;
    check_body(decoder, &header, extract_to)?;
    Ok(Verified {
        header,
        checksum: hex(&digest),
        bytes: len,
    })
}

fn check_body(body: impl Read, header: &Header, extract_to: Option<&Path>) -> Result<(), StateError> {
    let bad = |what: String| StateError::Refused(format!("state file body is damaged: {what}"));
    let mut archive = tar::Archive::new(body);
    let mut entries = archive.entries().map_err(|e| bad(e.to_string()))?;
    let mut first = entries
        .next()
        .ok_or_else(|| bad("no manifest".into()))?
        .map_err(|e| bad(e.to_string()))?;
    if first.path().map_err(|e| bad(e.to_string()))?.to_str() != Some(MANIFEST) {
        return Err(bad("the manifest is not first".into()));
    }
    let mut text = Vec::new();
    first.read_to_end(&mut text).map_err(|e| bad(e.to_string()))?;
    let manifest: Manifest = serde_json::from_slice(&text).map_err(|e| bad(format!("manifest: {e}")))?;
    let mut seen = Vec::new();
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(e.to_string()))?;
        let name = entry
            .path()
            .map_err(|e| bad(e.to_string()))?
            .to_string_lossy()
            .into_owned();
        let part = manifest
            .parts
            .iter()
            .find(|p| p.file == name && !name.contains('/') && !seen.contains(&name))
            .ok_or_else(|| bad(format!("unexpected part {name}")))?;
        let mut sink: Box<dyn Write> = match extract_to {
            Some(dir) => Box::new(BufWriter::new(
                File::create(dir.join(&part.file)).map_err(StateError::io(dir))?,
            )),
            None => Box::new(io::sink()),
        };
        let mut counter = LineCounter::new(&mut sink);
        io::copy(&mut entry, &mut counter).map_err(|e| bad(e.to_string()))?;
        let (rows, bytes, sha) = counter.finish();
        sink.flush().map_err(|e| bad(e.to_string()))?;
        if sha != part.sha256 || rows != part.rows || bytes != part.bytes {
            return Err(bad(format!("part {name} does not match its checksum")));
        }
        if header.counts.get(&part.table).copied().unwrap_or(0) != rows {
            return Err(bad(format!("part {name} does not match the header's counts")));
        }
        seen.push(name);
    }
    if let Some(missing) = manifest.parts.iter().find(|p| !seen.contains(&p.file)) {
        return Err(bad(format!("part {} is missing", missing.file)));
    }
    Ok(())
}

/// Counts lines, bytes and the SHA-256 of what passes through.
struct LineCounter<'a> {
    out: &'a mut dyn Write,
    hasher: Sha256,
    rows: u64,
    bytes: u64,
}

impl<'a> LineCounter<'a> {
    fn new(out: &'a mut dyn Write) -> Self {
        Self {
            out,
            hasher: Sha256::new(),
            rows: 0,
            bytes: 0,
        }
    }

    fn finish(self) -> (u64, u64, String) {
        (self.rows, self.bytes, hex(&self.hasher.finalize()))
    }
}

impl Write for LineCounter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.rows += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// A writer that hashes and counts what it writes.
struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Feeds a hasher as a writer.
struct HashWrite<'a>(&'a mut Sha256);

impl Write for HashWrite<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
