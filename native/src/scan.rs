//! The analyzer's per-prompt token work in one pass: tokenise, deduplicate, sum the learned model's and
//! the stopword tables' vectors, and count the rule cues (keywords and phrases).
//!
//! Reference: `router_service/analyzer/text.py` (`tokenize`, `shape_tokens`, `cue_region`),
//! `scorer.py` (`WindowScorer.score`) and `rulebook.py` (`RuleBook.cue_votes`). Results are equal to
//! the reference's for every input; `tests/analyzer/test_native_scan.py` checks that property.

use memchr::memmem;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple};
use rustc_hash::{FxHashMap, FxHashSet};

/// What a byte becomes in a token: SEP splits tokens (ASCII punctuation and whitespace), anything else
/// is the byte itself, with ASCII digits folded to "0" and ASCII capitals lower-cased.
const SEP: u16 = 256;

const fn byte_map() -> [u16; 256] {
    let mut map = [0u16; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        map[b] = if c.is_ascii_punctuation() || matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
            SEP
        } else if c.is_ascii_digit() {
            b'0' as u16
        } else if c.is_ascii_uppercase() {
            (c + 32) as u16
        } else {
            c as u16
        };
        b += 1;
    }
    map
}

static MAP: [u16; 256] = byte_map();

/// Tokens of UTF-8 `data` as spans of `buf` (the translated bytes).
fn tokenize(data: &[u8], buf: &mut Vec<u8>, spans: &mut Vec<(usize, usize)>) {
    let n = data.len();
    let mut start = usize::MAX;
    let mut i = 0;
    while i < n {
        let b = data[i];
        // "¿" and "¡" (C2 BF, C2 A1) are tokens of their own; "’" (E2 80 99) separates. C2 and E2 are
        // UTF-8 lead bytes, so a match here is always the whole character.
        if b == 0xC2 && i + 1 < n && (data[i + 1] == 0xBF || data[i + 1] == 0xA1) {
            if start != usize::MAX {
                spans.push((start, buf.len()));
                start = usize::MAX;
            }
            spans.push((buf.len(), buf.len() + 2));
            buf.extend_from_slice(&data[i..i + 2]);
            i += 2;
            continue;
        }
        if b == 0xE2 && i + 2 < n && data[i + 1] == 0x80 && data[i + 2] == 0x99 {
            if start != usize::MAX {
                spans.push((start, buf.len()));
                start = usize::MAX;
            }
            i += 3;
            continue;
        }
        let m = MAP[b as usize];
        if m == SEP {
            if start != usize::MAX {
                spans.push((start, buf.len()));
                start = usize::MAX;
            }
        } else {
            if start == usize::MAX {
                start = buf.len();
            }
            buf.push(m as u8);
        }
        i += 1;
    }
    if start != usize::MAX {
        spans.push((start, buf.len()));
    }
}

fn bit_length(n: usize) -> usize {
    (usize::BITS - n.leading_zeros()) as usize
}

struct Phrase {
    // " word word " with the surrounding spaces, as the reference searches the joined tokens.
    text: Vec<u8>,
    row: usize,
}

/// Sums of per-token field vectors (learned weights and stopword counts) and rule-cue counts of a text.
#[pyclass(frozen, module = "llm_router_native")]
pub struct TokenScanner {
    n_fields: usize,
    rows: FxHashMap<Vec<u8>, usize>,
    // n_fields per row; u32 keeps the table small (cold caches dominate the scan's cost under load).
    fields: Vec<u32>,
    n_cues: usize,
    cue_rows: FxHashMap<Vec<u8>, (usize, Vec<Phrase>)>,
    cues: Vec<u32>,
    head: usize,
    tail: usize,
}

fn push_row(store: &mut Vec<u32>, row: &Bound<'_, PyAny>, width: usize, what: &str) -> PyResult<usize> {
    let values: Vec<u32> = row.extract()?;
    if values.len() != width {
        return Err(PyValueError::new_err(format!("{what}: {} fields, expected {width}", values.len())));
    }
    let index = store.len() / width;
    store.extend(values);
    Ok(index)
}

impl TokenScanner {
    fn add(&self, total: &mut [u64], token: &[u8]) -> u64 {
        match self.rows.get(token) {
            Some(&row) => {
                let start = row * self.n_fields;
                for (t, &v) in total.iter_mut().zip(&self.fields[start..start + self.n_fields]) {
                    *t += u64::from(v);
                }
                u64::from(self.fields[start])
            }
            None => 0,
        }
    }
}

#[pymethods]
impl TokenScanner {
    /// `vectors`: token -> field values (`n_fields` each); `cues`: token -> (field values, [(phrase
    /// with surrounding spaces, field values)]) with `n_cues` fields; the cue region is the first
    /// `head` and last `tail` tokens.
    #[new]
    fn new(
        vectors: &Bound<'_, PyDict>,
        n_fields: usize,
        cues: &Bound<'_, PyDict>,
        n_cues: usize,
        head: usize,
        tail: usize,
    ) -> PyResult<Self> {
        if n_fields == 0 || n_cues == 0 {
            return Err(PyValueError::new_err("n_fields and n_cues must be positive"));
        }
        let mut rows = FxHashMap::default();
        let mut fields = Vec::with_capacity(vectors.len() * n_fields);
        for (token, row) in vectors.iter() {
            let token: Vec<u8> = token.cast::<PyBytes>()?.as_bytes().to_vec();
            rows.insert(token, push_row(&mut fields, &row, n_fields, "vector")?);
        }
        let mut cue_rows = FxHashMap::default();
        let mut cue_fields = Vec::new();
        for (token, entry) in cues.iter() {
            let token: Vec<u8> = token.cast::<PyBytes>()?.as_bytes().to_vec();
            let (word, phrases): (Bound<'_, PyAny>, Vec<(Vec<u8>, Bound<'_, PyAny>)>) = entry.extract()?;
            let row = push_row(&mut cue_fields, &word, n_cues, "cue")?;
            let mut list = Vec::with_capacity(phrases.len());
            for (text, values) in phrases {
                list.push(Phrase { text, row: push_row(&mut cue_fields, &values, n_cues, "phrase")? });
            }
            cue_rows.insert(token, (row, list));
        }
        Ok(Self { n_fields, rows, fields, n_cues, cue_rows, cues: cue_fields, head, tail })
    }

    /// Scan UTF-8 `data`: (tokens, distinct tokens, word hits, fields, cue counts, all digits).
    ///
    /// With `shape`, the shape pseudo-tokens ("#lenN", "#q", "#nl") join the distinct tokens and word
    /// hits leave out theirs; with `region`, cues are counted on the cue region only.
    fn scan<'py>(
        &self,
        py: Python<'py>,
        data: &[u8],
        shape: bool,
        region: bool,
    ) -> PyResult<(usize, usize, i64, Bound<'py, PyTuple>, Bound<'py, PyTuple>, bool)> {
        let mut buf = Vec::with_capacity(data.len());
        let mut spans = Vec::with_capacity(data.len() / 4 + 1);
        tokenize(data, &mut buf, &mut spans);
        let tokens: Vec<&[u8]> = spans.iter().map(|&(a, b)| &buf[a..b]).collect();
        let n = tokens.len();
        let mut distinct: FxHashSet<&[u8]> = FxHashSet::with_capacity_and_hasher(n, Default::default());
        distinct.extend(tokens.iter().copied());

        let mut total = vec![0u64; self.n_fields];
        for token in &distinct {
            self.add(&mut total, token);
        }
        let mut shape_hits = 0u64;
        if shape {
            let length = format!("#len{}", bit_length(n).min(10));
            shape_hits += self.add(&mut total, length.as_bytes());
            if memchr::memchr(b'?', data).is_some() {
                shape_hits += self.add(&mut total, b"#q");
            }
            if memchr::memchr(b'\n', data).is_some() {
                shape_hits += self.add(&mut total, b"#nl");
            }
        }
        let word_hits = total[0] as i64 - shape_hits as i64;

        let cut = region && n > self.head + self.tail;
        let cue_tokens: Vec<&[u8]> = if cut {
            tokens[..self.head].iter().chain(&tokens[n - self.tail..]).copied().collect()
        } else {
            Vec::new()
        };
        let (cue_list, cue_set) = if cut {
            let set: FxHashSet<&[u8]> = cue_tokens.iter().copied().collect();
            (&cue_tokens, set)
        } else {
            (&tokens, FxHashSet::default())
        };
        let cue_distinct = if cut { &cue_set } else { &distinct };
        let mut cue_total = vec![0u64; self.n_cues];
        let mut joined: Vec<u8> = Vec::new();
        for token in cue_distinct {
            if let Some((row, phrases)) = self.cue_rows.get(*token) {
                let start = row * self.n_cues;
                for (t, &v) in cue_total.iter_mut().zip(&self.cues[start..start + self.n_cues]) {
                    *t += u64::from(v);
                }
                for phrase in phrases {
                    if joined.is_empty() {
                        joined.push(b' ');
                        for t in cue_list.iter() {
                            joined.extend_from_slice(t);
                            joined.push(b' ');
                        }
                        if cue_list.is_empty() {
                            joined.push(b' ');
                        }
                    }
                    if memmem::find(&joined, &phrase.text).is_some() {
                        let start = phrase.row * self.n_cues;
                        for (t, &v) in cue_total.iter_mut().zip(&self.cues[start..start + self.n_cues]) {
                            *t += u64::from(v);
                        }
                    }
                }
            }
        }
        let all_digits = n > 0 && tokens.iter().all(|t| t.iter().all(u8::is_ascii_digit));
        Ok((
            n,
            distinct.len(),
            word_hits,
            PyTuple::new(py, &total)?,
            PyTuple::new(py, &cue_total)?,
            all_digits,
        ))
    }

    /// The tokens of UTF-8 `data`, exactly as the reference tokeniser gives them (for tests).
    fn tokens<'py>(&self, py: Python<'py>, data: &[u8]) -> PyResult<Vec<Bound<'py, PyBytes>>> {
        let mut buf = Vec::new();
        let mut spans = Vec::new();
        tokenize(data, &mut buf, &mut spans);
        Ok(spans.iter().map(|&(a, b)| PyBytes::new(py, &buf[a..b])).collect())
    }
}
