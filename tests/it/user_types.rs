//! User types: `#[derive(Type)]` enums through text columns, PostgreSQL enum types and MySQL
//! `ENUM` columns; derived newtypes in rows, parameters and as a repository key; and the
//! hand-written `Encode`/`Decode` impls of the `Decode` docs, on both backends.

use weir::{Backend, Decode, Encode, Entity, Error, Executor, Filter, FromRow, Param, Repo, Type};

use crate::both_backends;
use crate::common::Ctx;

both_backends!(
    derived_enum_round_trips_through_text_and_enum_columns,
    unknown_label_null_and_wrong_type_are_decode_errors,
    derived_newtype_round_trips_in_rows_params_and_as_repo_key,
    hand_written_impls_round_trip,
);

#[derive(Debug, Clone, Copy, PartialEq, Type)]
#[weir(rename_all = "snake_case")]
enum Mood {
    Happy,
    SoSo,
    #[weir(rename = "blue")]
    Sad,
}

const MOODS: [Mood; 3] = [Mood::Happy, Mood::SoSo, Mood::Sad];

/// Labels as written: no `rename_all`.
#[derive(Debug, Clone, Copy, PartialEq, Type)]
enum Color {
    Red,
    DarkGreen,
}

#[derive(Debug, PartialEq, FromRow)]
struct MoodRow {
    id: i32,
    as_text: Mood,
    as_enum: Mood,
    maybe: Option<Mood>,
}

async fn create_moods(ctx: &Ctx) {
    if ctx.backend == Backend::Postgres {
        ctx.db
            .execute("CREATE TYPE mood AS ENUM ('happy', 'so_so', 'blue')", ())
            .await
            .unwrap();
    }
    let ddl = ctx.sql(
        "CREATE TABLE moods (id INT PRIMARY KEY, as_text TEXT, as_enum mood, maybe mood, \
         color VARCHAR(300), n INT)",
        "CREATE TABLE moods (id INT PRIMARY KEY, as_text VARCHAR(20), \
         as_enum ENUM('happy', 'so_so', 'blue'), maybe ENUM('happy', 'so_so', 'blue'), \
         color VARCHAR(300), n INT)",
    );
    ctx.db.execute(ddl, ()).await.unwrap();
}

/// Each variant is bound as its label into a text column and an enum column, read back equal
/// (as a `FromRow` field, an `Option`, a scalar), stored as its label, and usable in `WHERE`.
async fn derived_enum_round_trips_through_text_and_enum_columns(ctx: Ctx) {
    create_moods(&ctx).await;
    for (id, mood) in (1..).zip(MOODS) {
        let maybe = (id != 2).then_some(mood);
        ctx.db
            .execute(
                "INSERT INTO moods (id, as_text, as_enum, maybe) VALUES ($1, $2, $3, $4)",
                (id, mood, &mood, maybe),
            )
            .await
            .unwrap();
    }
    let rows: Vec<MoodRow> = ctx
        .db
        .fetch_all(
            "SELECT id, as_text, as_enum, maybe FROM moods ORDER BY id",
            (),
        )
        .await
        .unwrap();
    let want: Vec<MoodRow> = (1..)
        .zip(MOODS)
        .map(|(id, mood)| MoodRow {
            id,
            as_text: mood,
            as_enum: mood,
            maybe: (id != 2).then_some(mood),
        })
        .collect();
    assert_eq!(rows, want);

    // Stored as the labels, on both columns.
    let stored: Vec<(String, String)> = ctx
        .db
        .fetch_all("SELECT as_text, as_enum FROM moods ORDER BY id", ())
        .await
        .unwrap();
    let labels = ["happy", "so_so", "blue"].map(|l| (l.to_string(), l.to_string()));
    assert_eq!(stored, labels);

    // Bound in a WHERE against either column; read as a scalar.
    for column in ["as_text", "as_enum"] {
        let sql = format!("SELECT id FROM moods WHERE {column} = $1");
        let id: i32 = ctx.db.fetch_scalar(&sql, (Mood::Sad,)).await.unwrap();
        assert_eq!(id, 3, "{column}");
        let sql = format!("SELECT {column} FROM moods WHERE id = $1");
        let mood: Mood = ctx.db.fetch_scalar(&sql, (2,)).await.unwrap();
        assert_eq!(mood, Mood::SoSo, "{column}");
    }
    let none: Option<Mood> = ctx
        .db
        .fetch_scalar("SELECT maybe FROM moods WHERE id = 2", ())
        .await
        .unwrap();
    assert_eq!(none, None);

    // Without rename_all the label is the variant's name as written.
    ctx.db
        .execute(
            "UPDATE moods SET color = $1 WHERE id = 1",
            (Color::DarkGreen,),
        )
        .await
        .unwrap();
    let (text, color): (String, Color) = ctx
        .db
        .fetch_one("SELECT color, color FROM moods WHERE id = 1", ())
        .await
        .unwrap();
    assert_eq!((text.as_str(), color), ("DarkGreen", Color::DarkGreen));
    assert_eq!(Color::Red.encode(), Param::Str("Red"));
}

/// Text that is no label is an `Error::Decode` naming the column, the type, the text and the
/// labels; NULL into a non-`Option` and a number are `Error::Decode` too.
async fn unknown_label_null_and_wrong_type_are_decode_errors(ctx: Ctx) {
    create_moods(&ctx).await;
    ctx.db
        .execute(
            "INSERT INTO moods (id, as_text, as_enum, n) VALUES (1, 'angry', 'happy', 7)",
            (),
        )
        .await
        .unwrap();
    let err = ctx
        .db
        .fetch_one::<MoodRow, _>("SELECT id, as_text, as_enum, maybe FROM moods", ())
        .await
        .unwrap_err();
    match &err {
        Error::Decode {
            column,
            rust_type,
            reason,
            ..
        } => {
            assert_eq!(column, "as_text");
            assert!(rust_type.ends_with("Mood"), "{rust_type}");
            assert_eq!(
                reason,
                "unknown label \"angry\"; expected one of \"happy\", \"so_so\", \"blue\""
            );
        }
        other => panic!("expected Error::Decode, got {other:?}"),
    }
    assert!(err.to_string().contains("as Rust `Mood`"), "{err}");

    // Two labels: "a" or "b"; a long text is shortened.
    ctx.db
        .execute(
            "UPDATE moods SET color = $1 WHERE id = 1",
            (format!("Blue{}", "x".repeat(200)),),
        )
        .await
        .unwrap();
    let err = ctx
        .db
        .fetch_scalar::<Color, _>("SELECT color FROM moods", ())
        .await
        .unwrap_err();
    let want = format!(
        "unknown label \"Blue{}...\"; expected \"Red\" or \"DarkGreen\"",
        "x".repeat(96)
    );
    assert!(
        matches!(&err, Error::Decode { reason, .. } if *reason == want),
        "{err:?}"
    );

    let err = ctx
        .db
        .fetch_scalar::<Mood, _>("SELECT maybe FROM moods", ())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Decode { column, reason, .. } if column == "maybe" && reason.contains("NULL")),
        "{err:?}"
    );
    let err = ctx
        .db
        .fetch_scalar::<Mood, _>("SELECT n FROM moods", ())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Decode { column, reason, .. } if column == "n" && reason == "incompatible types"),
        "{err:?}"
    );
    // The pool goes on.
    let ok: Mood = ctx
        .db
        .fetch_scalar("SELECT as_enum FROM moods", ())
        .await
        .unwrap();
    assert_eq!(ok, Mood::Happy);
}

#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Type)]
struct MemberId(i64);

#[derive(Debug, Clone, PartialEq, Type)]
struct Name(String);

#[derive(Debug, Clone, PartialEq, Entity)]
#[weir(table = "members")]
struct Member {
    #[weir(primary_key, generated)]
    id: MemberId,
    name: Name,
    nick: Option<Name>,
    mood: Mood,
}

fn member(name: &str, nick: Option<&str>, mood: Mood) -> Member {
    Member {
        id: MemberId(0),
        name: Name(name.into()),
        nick: nick.map(|n| Name(n.into())),
        mood,
    }
}

/// A newtype over `i64` as a generated key (RETURNING on PostgreSQL, LAST_INSERT_ID as an
/// unsigned value on MySQL), one over `String` and an enum as entity columns (insert,
/// insert_many, which is a COPY on PostgreSQL, get, find by the enum, update, delete), and
/// both as parameters and `FromRow` fields.
async fn derived_newtype_round_trips_in_rows_params_and_as_repo_key(ctx: Ctx) {
    if ctx.backend == Backend::Postgres {
        ctx.db
            .execute("CREATE TYPE mood AS ENUM ('happy', 'so_so', 'blue')", ())
            .await
            .unwrap();
    }
    let ddl = ctx.sql(
        "CREATE TABLE members (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, \
         name TEXT NOT NULL, nick TEXT, mood mood NOT NULL)",
        "CREATE TABLE members (id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL, \
         nick VARCHAR(50), mood ENUM('happy', 'so_so', 'blue') NOT NULL)",
    );
    ctx.db.execute(ddl, ()).await.unwrap();
    let repo = Repo::<Member>::new();
    let db = &ctx.db;

    let ada_id = repo
        .insert(db, &member("ada", Some("countess"), Mood::Happy))
        .await
        .unwrap();
    let bob_id = repo
        .insert(db, &member("bob", None, Mood::Sad))
        .await
        .unwrap();
    assert!(
        ada_id > MemberId(0) && bob_id > ada_id,
        "{ada_id:?} {bob_id:?}"
    );
    let stored = repo
        .insert_many(
            db,
            &[
                member("cy", None, Mood::SoSo),
                member("di", Some("d"), Mood::Sad),
            ],
        )
        .await
        .unwrap();
    assert_eq!(stored, 2);

    let mut ada = repo.get(db, &ada_id).await.unwrap().unwrap();
    assert_eq!(
        ada,
        Member {
            id: ada_id,
            ..member("ada", Some("countess"), Mood::Happy)
        }
    );
    let mut sad: Vec<String> = repo
        .find(db, &Filter::eq("mood", Mood::Sad))
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.name.0)
        .collect();
    sad.sort();
    assert_eq!(sad, ["bob", "di"]);

    ada.mood = Mood::SoSo;
    ada.nick = None;
    repo.update(db, &mut ada).await.unwrap();
    assert_eq!(repo.get(db, &ada_id).await.unwrap(), Some(ada.clone()));
    assert!(repo.delete(db, &bob_id).await.unwrap());
    assert_eq!(repo.get(db, &bob_id).await.unwrap(), None);

    // As parameters and as plain FromRow fields, tuple and named.
    #[derive(Debug, PartialEq, FromRow)]
    struct Pair(MemberId, Option<Name>);
    let pair: Pair = db
        .fetch_one(
            "SELECT id, nick FROM members WHERE name = $1",
            (Name("di".into()),),
        )
        .await
        .unwrap();
    assert_eq!(pair.1, Some(Name("d".into())));
    let name: Name = db
        .fetch_scalar("SELECT name FROM members WHERE id = $1", (pair.0,))
        .await
        .unwrap();
    assert_eq!(name, Name("di".into()));
    let err = db
        .fetch_scalar::<MemberId, _>("SELECT name FROM members WHERE id = $1", (pair.0,))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Decode { rust_type, .. } if rust_type.ends_with("MemberId")),
        "{err:?}"
    );
}

// The impls of the `Decode` docs' example, as written there.

#[derive(Debug, PartialEq)]
struct Money {
    cents: i64,
}

impl Encode for Money {
    fn encode(&self) -> Param<'_> {
        Param::Int(self.cents) // a BIGINT column on both backends
    }
}

impl Decode for Money {
    fn decode(cell: Param<'_>) -> Result<Self, String> {
        match cell {
            Param::Int(cents) => Ok(Money { cents }),
            // MySQL hands a BIGINT UNSIGNED column over as UInt.
            Param::UInt(v) => i64::try_from(v)
                .map(|cents| Money { cents })
                .map_err(|_| format!("{v} cents is out of range")),
            Param::Null => Err("unexpected NULL (use Option<Money>)".into()),
            _ => Err("expected whole cents in an integer column".into()),
        }
    }
}

#[derive(Debug, PartialEq)]
struct Email(String);

impl Encode for Email {
    fn encode(&self) -> Param<'_> {
        Param::Str(&self.0) // borrowed from self: no copy
    }
}

impl Decode for Email {
    fn decode(cell: Param<'_>) -> Result<Self, String> {
        // String's own impl reads Text (checking UTF-8) and says what a NULL or a number is.
        let text = String::decode(cell)?;
        if text.contains('@') {
            Ok(Email(text))
        } else {
            Err(format!("{text:?} is not an e-mail address"))
        }
    }
}

#[derive(Debug, PartialEq, FromRow)]
struct Account {
    balance: Money,
    mail: Option<Email>,
}

/// The hand-written impls bind and read back on both backends; their own errors arrive as
/// `Error::Decode` naming the column.
async fn hand_written_impls_round_trip(ctx: Ctx) {
    let ddl = ctx.sql(
        "CREATE TABLE accounts (id INT PRIMARY KEY, balance BIGINT, mail TEXT, big NUMERIC(20))",
        "CREATE TABLE accounts (id INT PRIMARY KEY, balance BIGINT, mail VARCHAR(50), \
         big BIGINT UNSIGNED)",
    );
    ctx.db.execute(ddl, ()).await.unwrap();
    let sql = "INSERT INTO accounts (id, balance, mail, big) VALUES ($1, $2, $3, $4)";
    let mail = Email("ada@example.com".into());
    ctx.db
        .execute(sql, (1, Money { cents: -1250 }, &mail, 1250u64))
        .await
        .unwrap();
    ctx.db
        .execute(sql, (2, Money { cents: 0 }, None::<Email>, u64::MAX))
        .await
        .unwrap();
    let rows: Vec<Account> = ctx
        .db
        .fetch_all("SELECT balance, mail FROM accounts ORDER BY id", ())
        .await
        .unwrap();
    let want = [
        Account {
            balance: Money { cents: -1250 },
            mail: Some(mail),
        },
        Account {
            balance: Money { cents: 0 },
            mail: None,
        },
    ];
    assert_eq!(rows, want);

    // MySQL's BIGINT UNSIGNED arrives as UInt: in range it reads, past i64 it is the impl's
    // error. PostgreSQL's numeric is neither Int nor UInt: the catch-all arm.
    let small = ctx
        .db
        .fetch_scalar::<Money, _>("SELECT big FROM accounts WHERE id = 1", ())
        .await;
    let big = ctx
        .db
        .fetch_scalar::<Money, _>("SELECT big FROM accounts WHERE id = 2", ())
        .await
        .unwrap_err();
    match ctx.backend {
        Backend::MySql => {
            assert_eq!(small.unwrap(), Money { cents: 1250 });
            assert!(
                matches!(&big, Error::Decode { reason, .. } if reason.ends_with("cents is out of range")),
                "{big:?}"
            );
        }
        Backend::Postgres => {
            let small = small.unwrap_err();
            assert!(
                matches!(&small, Error::Decode { reason, .. } if reason == "expected whole cents in an integer column"),
                "{small:?}"
            );
        }
    }

    ctx.db
        .execute(
            "UPDATE accounts SET mail = $1 WHERE id = 2",
            ("not an address",),
        )
        .await
        .unwrap();
    let err = ctx
        .db
        .fetch_all::<Account, _>("SELECT balance, mail FROM accounts ORDER BY id", ())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Decode { column, reason, .. }
            if column == "mail" && reason == "\"not an address\" is not an e-mail address"),
        "{err:?}"
    );
    ctx.db
        .execute("UPDATE accounts SET balance = NULL WHERE id = 2", ())
        .await
        .unwrap();
    let err = ctx
        .db
        .fetch_scalar::<Money, _>("SELECT balance FROM accounts WHERE id = 2", ())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Decode { reason, .. } if reason == "unexpected NULL (use Option<Money>)"),
        "{err:?}"
    );
}
