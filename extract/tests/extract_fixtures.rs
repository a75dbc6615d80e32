//! Extraction of the fixture documents in `fixtures/docs/` (made by `fixtures/docs/make.py`
//! with each format's own writer): exact text, members and locations per fixture, the same
//! through the isolated worker pool, and the file-type and size filters.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod extract_support;

use dlp_extract::{detect, FileType, Filter, Limits};
use extract_support::{events, fixture, pool, pool_events};

#[test]
fn extract_worker_entry() {
    extract_support::worker_entry();
}

/// The tests proper, in a module so that `cargo test extract` selects them.
mod extract {
    #![allow(clippy::wildcard_imports)]
    use super::*;

    /// (fixture, detected type, rendered events in order).
    const CASES: &[(&str, FileType, &[&str])] = &[
    (
        "sample-latin1.txt",
        FileType::Text,
        &[
            "text [] (): Café SSN 536-22-8917\n",
            "done [] text",
        ],
    ),
    (
        "sample-utf16.txt",
        FileType::Text,
        &[
            "text [] (): Café key AKIAIOSFODNN7EXAMPLE\n",
            "done [] text",
        ],
    ),
    (
        "sample-utf8.txt",
        FileType::Text,
        &[
            "text [] (): Café card 4111 1111 1111 1111\n",
            "done [] text",
        ],
    ),
    (
        "sample.csv",
        FileType::Csv,
        &[
            "text [] (): name,card,ssn\nJane Doe,4111 1111 1111 1111,536-22-8917\n",
            "done [] csv",
        ],
    ),
    (
        "sample.docx",
        FileType::Docx,
        &[
            "text [] (): Customer record\nCard: 4111 1111 1111 1111\nKey AKIAIOSFODNN7EXAMPLE\nName\nSSN\nJane Doe\n536-22-8917\nReviewed.\n",
            "text [] (header): Header contact jane.doe@example.com\n",
            "text [] (footer): Footer IBAN DE89370400440532013000\n",
            "text [] (comments): Comment: card 4111 1111 1111 1111\n",
            "done [] docx",
        ],
    ),
    (
        "sample.eml",
        FileType::Eml,
        &[
            "text [] (headers): From: Jane Doe <jane.doe@example.com>\nTo: security@example.org\nSubject: Rapport annuel — clé AKIAIOSFODNN7EXAMPLE\nDate: 2024-01-02T03:04:05Z\n",
            "text [] (): Bonjour équipe,\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx card 4111 1111 1111 1111\r\n",
            "text [] (): IBAN DE89370400440532013000 & more\n\r\n",
            "text [record.docx] (): Customer record\nCard: 4111 1111 1111 1111\nKey AKIAIOSFODNN7EXAMPLE\nName\nSSN\nJane Doe\n536-22-8917\nReviewed.\n",
            "text [record.docx] (header): Header contact jane.doe@example.com\n",
            "text [record.docx] (footer): Footer IBAN DE89370400440532013000\n",
            "text [record.docx] (comments): Comment: card 4111 1111 1111 1111\n",
            "done [record.docx] docx",
            "text [notes.txt] (): SSN 536-22-8917\r\n",
            "done [notes.txt] text",
            "done [] eml",
        ],
    ),
    (
        "sample.html",
        FileType::Html,
        &[
            "text [] (): Record\nCard 4111 1111 1111 1111\nMail: jane.doe@example.com\n",
            "done [] html",
        ],
    ),
    (
        "sample.json",
        FileType::Json,
        &[
            "text [] (): key: -----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\nuser.card: 4111111111111111\nuser.email: jane.doe@example.com\n",
            "done [] json",
        ],
    ),
    (
        "sample.odp",
        FileType::Odp,
        &[
            "text [] (slide 1): Card 4111 1111 1111 1111",
            "text [] (slide 2): Contact jane.doe@example.com",
            "text [] (notes slide 2): Notes SSN 536-22-8917",
            "done [] odp",
        ],
    ),
    (
        "sample.ods",
        FileType::Ods,
        &[
            "text [] (sheet Cards): Jane Doe\t4111111111111111\nSSN 536-22-8917",
            "done [] ods",
        ],
    ),
    (
        "sample.odt",
        FileType::Odt,
        &[
            "text [] (): Customer record\nCard 4111 1111 1111 1111\nContact jane.doe@example.com",
            "done [] odt",
        ],
    ),
    (
        "sample.pdf",
        FileType::Pdf,
        &[
            "text [] (page 1): Page one: contact jane.doe@example.com",
            "text [] (page 2): Page two: card 4111 1111 1111 1111",
            "done [] pdf",
        ],
    ),
    (
        "sample.pptx",
        FileType::Pptx,
        &[
            "text [] (slide 1): Second slide\nContact\njane.doe@example.com\nIBAN\nDE89370400440532013000\n",
            "text [] (notes slide 1): Speaker notes: SSN 536-22-8917\n",
            "text [] (slide 2): First slide\nCard 4111 1111 1111 1111\n",
            "done [] pptx",
        ],
    ),
    (
        "sample.rtf",
        FileType::Rtf,
        &[
            "text [] (): Card 4111 1111 1111 1111\nCafé SSN 536-22-8917",
            "done [] rtf",
        ],
    ),
    (
        "sample.tar.gz",
        FileType::Gzip,
        &[
            "text [bundle.tar/etc/ssn.txt] (): SSN 536-22-8917\n",
            "done [bundle.tar/etc/ssn.txt] text",
            "text [bundle.tar/etc/mail.txt] (): mail jane.doe@example.com\n",
            "done [bundle.tar/etc/mail.txt] text",
            "done [bundle.tar] tar",
            "done [] gzip",
        ],
    ),
    (
        "sample.xlsx",
        FileType::Xlsx,
        &[
            "text [] (sheet Sales): Name\tCard\tAmount\nJane Doe\t4111111111111111\t12.5\nJohn Roe\t4111111111111111\t3\n",
            "text [] (sheet HR): SSN\t536-22-8917\n",
            "text [] (sheet HR comments): Key AKIAIOSFODNN7EXAMPLE\n",
            "done [] xlsx",
        ],
    ),
    (
        "sample.zip",
        FileType::Zip,
        &[
            "text [docs/card.txt] (): card 4111 1111 1111 1111\n",
            "done [docs/card.txt] text",
            "text [inner.zip/deep/key.txt] (): aws AKIAIOSFODNN7EXAMPLE\n",
            "done [inner.zip/deep/key.txt] text",
            "done [inner.zip] zip",
            "text [report.xlsx] (sheet Sales): Name\tCard\tAmount\nJane Doe\t4111111111111111\t12.5\nJohn Roe\t4111111111111111\t3\n",
            "text [report.xlsx] (sheet HR): SSN\t536-22-8917\n",
            "text [report.xlsx] (sheet HR comments): Key AKIAIOSFODNN7EXAMPLE\n",
            "done [report.xlsx] xlsx",
            "done [] zip",
        ],
    ),
];

    #[test]
    fn every_fixture_extracts_exactly() {
        for (name, file_type, want) in CASES {
            let data = fixture(name);
            assert_eq!(detect(&data), *file_type, "{name}");
            let got = events(&data, &Limits::default(), &Filter::default());
            assert_eq!(got, *want, "{name}");
        }
    }

    #[test]
    fn the_pool_gives_the_same_events() {
        let pool = pool(2, Limits::default());
        for (name, _, want) in CASES {
            let got = pool_events(&pool, &fixture(name), &Filter::default());
            assert_eq!(got, *want, "{name}");
        }
    }

    #[test]
    fn file_type_filter_applies_to_members_and_archives_stay_open() {
        let filter = Filter {
            file_types: Some(vec![FileType::Xlsx]),
            max_file_size: None,
        };
        let got = events(&fixture("sample.zip"), &Limits::default(), &filter);
        assert_eq!(
        got,
        [
            "skip [docs/card.txt] filtered_type",
            "skip [inner.zip/deep/key.txt] filtered_type",
            "done [inner.zip] zip",
            "text [report.xlsx] (sheet Sales): Name\tCard\tAmount\nJane Doe\t4111111111111111\t12.5\nJohn Roe\t4111111111111111\t3\n",
            "text [report.xlsx] (sheet HR): SSN\t536-22-8917\n",
            "text [report.xlsx] (sheet HR comments): Key AKIAIOSFODNN7EXAMPLE\n",
            "done [report.xlsx] xlsx",
            "done [] zip",
        ]
    );
        let pdf_only = Filter {
            file_types: Some(vec!["pdf".parse().unwrap()]),
            max_file_size: None,
        };
        assert_eq!(
            events(&fixture("sample.docx"), &Limits::default(), &pdf_only),
            ["skip [] filtered_type"]
        );
    }

    #[test]
    fn max_file_size_skips_large_items_and_members() {
        let filter = Filter {
            file_types: None,
            max_file_size: Some(1000),
        };
        assert_eq!(
            events(&fixture("sample.docx"), &Limits::default(), &filter),
            ["skip [] too_large"]
        );
        // The e-mail is larger than 1000 bytes as a whole.
        assert_eq!(
            events(&fixture("sample.eml"), &Limits::default(), &filter),
            ["skip [] too_large"]
        );
        let filter = Filter {
            file_types: None,
            max_file_size: Some(7000),
        };
        let got = events(&fixture("sample.zip"), &Limits::default(), &filter);
        assert!(
            got.contains(&"done [docs/card.txt] text".to_string()),
            "{got:?}"
        );
        assert!(
            got.contains(&"done [report.xlsx] xlsx".to_string()),
            "{got:?}"
        );
    }

    #[test]
    fn text_cap_cuts_and_reports() {
        let limits = Limits {
            max_text_per_item: 10,
            ..Limits::default()
        };
        assert_eq!(
            events(&fixture("sample-utf8.txt"), &limits, &Filter::default()),
            ["text [] (): Café card", "skip [] limit_exceeded"]
        );
    }

    #[test]
    fn file_type_names_round_trip() {
        for t in FileType::all() {
            assert_eq!(t.name().parse::<FileType>(), Ok(*t));
        }
        let err = "docz".parse::<FileType>().unwrap_err().to_string();
        assert!(err.contains("docx") && err.contains("pdf"), "{err}");
    }

    #[test]
    fn public_types_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<dlp_extract::isolate::WorkerPool>();
        check::<Limits>();
        check::<Filter>();
        check::<dlp_extract::Event<'static>>();
    }
}
