//! Embeds a digest of the crate's sources (`SOURCE_DIGEST`), so the router can tell a build made from
//! other sources than those beside it (router_service/native.py computes the same digest).

use std::fs;
use std::path::Path;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn main() {
    let mut files = vec!["Cargo.toml".to_string(), "build.rs".to_string()];
    let mut sources: Vec<String> = fs::read_dir("src")
        .expect("src/")
        .map(|e| e.expect("src entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".rs"))
        .map(|name| format!("src/{name}"))
        .collect();
    sources.sort();
    files.extend(sources);
    // FNV-1a over "path\0content\0" of each file, in this order.
    let mut hash = FNV_OFFSET;
    for file in &files {
        let content = fs::read(Path::new(file)).expect("source file");
        for &b in file.as_bytes().iter().chain(&[0u8]).chain(&content).chain(&[0u8]) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(FNV_PRIME);
        }
        println!("cargo:rerun-if-changed={file}");
    }
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rustc-env=LLM_ROUTER_NATIVE_SOURCE_DIGEST={hash:016x}");
}
