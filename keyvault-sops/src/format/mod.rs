//! The file formats ("stores") sops supports: YAML, JSON, dotenv and binary.

pub mod dotenv;
pub mod json;
pub mod yaml;

use crate::error::{Error, Result};
use crate::tree::{MapItem, Tree, Value};

/// A sops store format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// YAML (comments kept; multi-document).
    Yaml,
    /// JSON.
    Json,
    /// dotenv (`KEY=VALUE`).
    Dotenv,
    /// Any file, stored whole as one encrypted string under `data` in a JSON file.
    Binary,
}

impl Format {
    /// The format sops picks from a file name (`.yaml`/`.yml`, `.json`, `.env`, anything else binary).
    pub fn from_path(path: &std::path::Path) -> Self {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        match ext {
            "yaml" | "yml" => Format::Yaml,
            "json" => Format::Json,
            "env" => Format::Dotenv,
            _ if name == ".env" => Format::Dotenv,
            _ => Format::Binary,
        }
    }

    /// Parse a format name as given to `--input-type`/`--output-type`.
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "yaml" => Ok(Format::Yaml),
            "json" => Ok(Format::Json),
            "dotenv" => Ok(Format::Dotenv),
            "binary" => Ok(Format::Binary),
            other => Err(Error::invalid(
                "format",
                format!("`{other}` is not one of yaml, json, dotenv, binary"),
            )),
        }
    }

    /// Parse a plaintext (not yet encrypted) file.
    pub fn parse_plain(self, bytes: &[u8]) -> Result<Tree> {
        match self {
            Format::Binary => {
                let s = std::str::from_utf8(bytes).map_err(|_| {
                    Error::Unsupported(
                        "binary files must be valid UTF-8 to round-trip through sops' JSON".into(),
                    )
                })?;
                Ok(Tree {
                    documents: vec![vec![MapItem::Entry(
                        "data".into(),
                        Value::Str(s.to_string()),
                    )]],
                })
            }
            _ => self.parse_encrypted(bytes),
        }
    }

    /// Parse an encrypted file (binary files are stored as JSON).
    pub fn parse_encrypted(self, bytes: &[u8]) -> Result<Tree> {
        let text = std::str::from_utf8(bytes).map_err(|_| Error::Parse {
            format: self.name(),
            why: "the file is not valid UTF-8".into(),
        })?;
        match self {
            Format::Yaml => yaml::parse(text),
            Format::Json | Format::Binary => json::parse(text),
            Format::Dotenv => dotenv::parse(text),
        }
    }

    /// Write a decrypted tree.
    pub fn emit_plain(self, tree: &Tree) -> Result<Vec<u8>> {
        match self {
            Format::Binary => {
                let doc = tree
                    .documents
                    .first()
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                match crate::tree::get(doc, "data") {
                    Some(Value::Str(s)) => Ok(s.clone().into_bytes()),
                    _ => Err(Error::invalid("binary file", "it has no string `data` key")),
                }
            }
            _ => self.emit_encrypted(tree),
        }
    }

    /// Write an encrypted tree (binary files are written as JSON).
    pub fn emit_encrypted(self, tree: &Tree) -> Result<Vec<u8>> {
        // the emitters recurse once per level
        crate::tree::check_depth(tree)?;
        Ok(match self {
            Format::Yaml => yaml::emit(tree, 4).into_bytes(),
            Format::Json | Format::Binary => json::emit(tree).into_bytes(),
            Format::Dotenv => dotenv::emit(tree)?.into_bytes(),
        })
    }

    /// The format's name as sops spells it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Yaml => "yaml",
            Format::Json => "json",
            Format::Dotenv => "dotenv",
            Format::Binary => "binary",
        }
    }
}
