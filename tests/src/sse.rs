//! Reading a gateway SSE response the way a client does.

use serde_json::Value;

/// A whole SSE response: its `data:` payloads, in order.
#[derive(Debug, Clone)]
pub struct Transcript {
    pub data: Vec<String>,
}

impl Transcript {
    pub fn parse(body: &str) -> Self {
        let data = body
            .split("\n\n")
            .filter_map(|event| {
                let lines: Vec<&str> = event
                    .lines()
                    .filter_map(|line| line.strip_prefix("data:").map(str::trim_start))
                    .collect();
                (!lines.is_empty()).then(|| lines.join("\n"))
            })
            .collect();
        Transcript { data }
    }

    /// The JSON chunks (everything but `[DONE]`).
    pub fn chunks(&self) -> Vec<Value> {
        self.data
            .iter()
            .filter(|it| *it != "[DONE]")
            .map(|it| serde_json::from_str(it).unwrap_or_else(|e| panic!("chunk {it}: {e}")))
            .collect()
    }

    pub fn ends_with_done(&self) -> bool {
        self.data.last().is_some_and(|it| it == "[DONE]")
    }

    /// The concatenated `delta.content` of choice 0.
    pub fn content(&self) -> String {
        self.chunks()
            .iter()
            .filter_map(|it| {
                it["choices"][0]["delta"]["content"]
                    .as_str()
                    .map(str::to_owned)
            })
            .collect()
    }

    /// The `usage` of the last chunk carrying one.
    pub fn usage(&self) -> Option<Value> {
        self.chunks()
            .iter()
            .rev()
            .find_map(|it| it.get("usage").filter(|u| !u.is_null()).cloned())
    }
}
