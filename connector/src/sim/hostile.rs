//! Hostile knowledge files for the simulator (`WorkspaceSpec::hostile_files`): the inputs that
//! crashed, froze or ballooned a connector that parsed documents in its own process. Each is
//! generated here, small, and must end as a `skipped` record with one of its expected reasons
//! while the scan goes on; the nested zip bomb also holds a planted value beside the bomb, which
//! must still be found.

use std::io::Write;

use bytes::Bytes;
use serde_json::json;
use time::OffsetDateTime;

use super::workspace::{Planted, Rng, SimFile, SimGpt, Workspace};
use crate::record::ItemKind;

/// The hostile knowledge files: name, and the skip reasons that are correct for it (the first is
/// the one the isolated engine gives today). `nested_bomb.zip` is skipped in a member
/// (`bomb.zip/...`), the others as a whole.
pub const HOSTILE_FILES: &[(&str, &[&str])] = &[
    // Stack overflow in the PDF parser: the worker process dies, the file is broken.
    (
        "form_xobject_loop.pdf",
        &["broken_file", "limit_exceeded", "timeout"],
    ),
    // A 1 MB content stream that inflates to 1 GiB: the worker's memory or size limits.
    (
        "inflate_bomb.pdf",
        &["limit_exceeded", "broken_file", "timeout"],
    ),
    // Twelve levels of zip in zip around 8 MiB of zeros: depth and ratio limits.
    ("nested_bomb.zip", &["limit_exceeded"]),
    // A billion-laughs DTD in `word/document.xml`: DTDs are refused, never expanded.
    ("entity_expansion.docx", &["limit_exceeded", "broken_file"]),
    // One byte over the default `max_file_size` (50 MiB): not downloaded past the limit.
    ("oversize.txt", &["too_large"]),
];

/// The name of the hostile GPT.
pub const HOSTILE_GPT_NAME: &str = "Hostile Uploads";

/// The default `scan.max_file_size`, which `oversize.txt` exceeds by one byte.
const OVERSIZE: usize = 50 * 1024 * 1024 + 1;

/// Adds a GPT whose knowledge files are [`HOSTILE_FILES`]; `plant` (detector, text, value) goes
/// into `notes.txt` beside the bomb in `nested_bomb.zip`.
pub(crate) fn add_hostile_gpt(
    ws: &mut Workspace,
    rng: &mut Rng,
    created: OffsetDateTime,
    plant: (String, String, String),
) {
    let owner = match ws.users.first() {
        Some(user) => user.clone(),
        None => return,
    };
    let gpt_id = rng.id("g-");
    let (detector, plant_text, value) = plant;
    let mut file_json = Vec::new();
    let mut files = Vec::new();
    for (name, _) in HOSTILE_FILES {
        let file_id = rng.id("file-");
        let content = match *name {
            "form_xobject_loop.pdf" => form_xobject_loop_pdf(),
            "inflate_bomb.pdf" => inflate_bomb_pdf(),
            "nested_bomb.zip" => {
                ws.planted.push(Planted {
                    detector: detector.clone(),
                    value: value.clone(),
                    item: ItemKind::GptFile,
                    event_id: None,
                    message_id: None,
                    conversation_id: None,
                    conversation_title: None,
                    file_id: Some(file_id.clone()),
                    file_name: Some(name.to_string()),
                    gpt_id: Some(gpt_id.clone()),
                    gpt_name: Some(HOSTILE_GPT_NAME.to_string()),
                    user_email: Some(owner.email.clone()),
                    author_role: None,
                    timestamp: None,
                    format: "zip".into(),
                });
                nested_zip_bomb(&plant_text)
            }
            "entity_expansion.docx" => entity_expansion_docx(),
            _ => oversize_text(),
        };
        ws.files.insert(
            file_id.clone(),
            SimFile {
                id: file_id.clone(),
                name: name.to_string(),
                content,
                uploaded_at: created,
                user_id: None,
            },
        );
        file_json.push(json!({"id": file_id, "name": name,
            "created_at": created.unix_timestamp() as f64, "download_url": null}));
        files.push(file_id);
    }
    let config = json!({"id": rng.id("gzm_cnf_"), "name": HOSTILE_GPT_NAME,
        "description": "knowledge files that attack parsers", "instructions": "Answer briefly.",
        "created_at": created.unix_timestamp() as f64,
        "files": {"object": "list", "data": file_json, "has_more": false, "last_id": null}, "tools": {}});
    let mut gpt = SimGpt::new(
        json!({"object": "compliance.workspace.gpt", "id": gpt_id,
            "created_at": created.unix_timestamp() as f64,
            "owner_id": owner.id, "owner_email": owner.email, "builder_name": owner.name,
            "sharing": {"visibility": "workspace", "permissions": {}, "recipients": []},
            "latest_config": {"object": "list", "data": [config], "has_more": false, "last_id": null}}),
        created,
    );
    gpt.files = files;
    ws.gpts.push(gpt);
}

/// A PDF from numbered objects (their bodies, which may hold binary streams) with a correct
/// cross-reference table.
fn pdf(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n", i + 1).bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).bytes());
    for offset in offsets {
        out.extend(format!("{offset:010} 00000 n \n").bytes());
    }
    out.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .bytes(),
    );
    out
}

fn text_objects(objects: &[&str]) -> Vec<Vec<u8>> {
    objects.iter().map(|o| o.as_bytes().to_vec()).collect()
}

/// A page that draws a form XObject that draws itself: a parser that follows form XObjects
/// without a depth limit recurses until its stack overflows (about 800 bytes).
pub fn form_xobject_loop_pdf() -> Bytes {
    pdf(&text_objects(&[
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] \
         /Resources << /XObject << /X1 4 0 R >> >> /Contents 5 0 R >>",
        "<< /Type /XObject /Subtype /Form /BBox [0 0 612 792] \
         /Resources << /XObject << /X1 4 0 R >> >> /Length 7 >>\nstream\n/X1 Do\nendstream",
        "<< /Length 7 >>\nstream\n/X1 Do\nendstream",
    ]))
    .into()
}

/// A one-page PDF whose content stream (about 1 MB, `FlateDecode`) inflates to 1 GiB of spaces.
pub fn inflate_bomb_pdf() -> Bytes {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    let spaces = vec![b' '; 1 << 20];
    for _ in 0..1024 {
        // Writing to memory cannot fail.
        let _ = z.write_all(&spaces);
    }
    let data = z.finish().unwrap_or_default();
    let mut stream = format!(
        "<< /Length {} /Filter /FlateDecode >>\nstream\n",
        data.len()
    )
    .into_bytes();
    stream.extend_from_slice(&data);
    stream.extend_from_slice(b"\nendstream");
    let mut objects = text_objects(&[
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
    ]);
    objects.push(stream);
    pdf(&objects).into()
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(false);
    for (name, content) in entries {
        // Writing to memory cannot fail.
        let _ = zip.start_file(*name, options);
        let _ = zip.write_all(content);
    }
    zip.finish().map(|c| c.into_inner()).unwrap_or_default()
}

/// `notes.txt` (with `plant_text`) beside `bomb.zip`: twelve levels of zip in zip around 8 MiB
/// of zeros (past the depth limit of 10, and a ratio of about 1000).
pub fn nested_zip_bomb(plant_text: &str) -> Bytes {
    let mut bomb = zip_of(&[("zeros.txt", &vec![b'0'; 8 << 20])]);
    for level in 0..12 {
        bomb = zip_of(&[(&format!("level{level}.zip"), &bomb)]);
    }
    let notes = format!("meeting notes\n{plant_text}\nend of notes\n");
    zip_of(&[("notes.txt", notes.as_bytes()), ("bomb.zip", &bomb)]).into()
}

/// A DOCX whose `word/document.xml` declares a billion-laughs entity expansion.
pub fn entity_expansion_docx() -> Bytes {
    let content_types = r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>"#;
    let bomb = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>"#;
    zip_of(&[
        ("[Content_Types].xml", content_types.as_bytes()),
        ("word/document.xml", bomb.as_bytes()),
    ])
    .into()
}

/// Plain text one byte over the default `max_file_size`.
fn oversize_text() -> Bytes {
    let line = b"nothing to see here, just a very long file\n";
    let mut out = Vec::with_capacity(OVERSIZE);
    while out.len() < OVERSIZE {
        out.extend_from_slice(line);
    }
    out.truncate(OVERSIZE);
    out.into()
}
