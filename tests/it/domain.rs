//! The domain repository of `examples/users.rs`, the way users will write theirs: one test
//! suite written against the `UserRepository` trait, run unchanged on PostgreSQL and
//! MySQL/MariaDB, on the pool and inside a transaction.

use weir::{Error, Executor};

use crate::both_backends;
use crate::common::Ctx;

#[path = "../../examples/users.rs"]
#[allow(dead_code)] // the example's `main` and `demo`
mod users;

use users::{NewUser, User, UserRepository, WeirUsers};

both_backends!(
    user_repository_contract_on_the_pool,
    user_repository_inside_a_transaction,
    example_demo_runs,
);

fn new(name: &str, email: &str) -> NewUser {
    NewUser {
        name: name.into(),
        email: email.into(),
    }
}

/// What every `UserRepository` must do, written against the trait alone.
///
/// In a transaction the calls that fail on purpose are left out: on PostgreSQL any error
/// aborts the transaction (every later statement fails until rollback), on MySQL it does not,
/// so a caller inside a transaction treats an error as the end of that transaction.
async fn check_contract(users: &impl UserRepository, in_transaction: bool) {
    let ada = users.create(new("ada", "Ada@X.org")).await.unwrap();
    let bob = users.create(new("bob", "bob@x.org")).await.unwrap();
    let cy = users.create(new("cy", "cy@x.org")).await.unwrap();
    assert!(ada.id > 0 && bob.id > ada.id && cy.id > bob.id);
    assert_eq!(ada.email, "ada@x.org", "emails are stored in lower case");
    assert_eq!(ada.version, 0);

    // get_by_id
    assert_eq!(users.get_by_id(bob.id).await.unwrap(), Some(bob.clone()));
    assert_eq!(users.get_by_id(-1).await.unwrap(), None);

    // find_by_email, in any case, on both backends
    assert_eq!(
        users.find_by_email("ADA@x.ORG").await.unwrap(),
        Some(ada.clone())
    );
    assert_eq!(users.find_by_email("nobody@x.org").await.unwrap(), None);
    let hostile = "'; DROP TABLE app_users; --";
    assert_eq!(users.find_by_email(hostile).await.unwrap(), None);

    // create with a taken email: the same typed error, the same key name
    if !in_transaction {
        let err = users.create(new("imp", "BOB@x.org")).await.unwrap_err();
        match &err {
            Error::UniqueViolation(e) => {
                assert_eq!(e.constraint.as_deref(), Some("app_users_email_key"), "{e}")
            }
            other => panic!("expected a unique violation, got {other:?}"),
        }
    }

    // update_email: the PostgreSQL path (UPDATE ... RETURNING) and the portable path agree
    let updated = users.update_email(ada.id, "Ada@New.org").await.unwrap();
    assert_eq!(
        updated,
        User {
            email: "ada@new.org".into(),
            version: 1,
            ..ada.clone()
        }
    );
    assert_eq!(
        users.get_by_id(ada.id).await.unwrap(),
        Some(updated.clone())
    );
    if !in_transaction {
        let err = users.update_email(bob.id, "cy@x.org").await.unwrap_err();
        assert!(err.is_unique_violation(), "{err:?}");
    }
    // Not found is no server error: fine in a transaction too.
    let err = users.update_email(-1, "z@x.org").await.unwrap_err();
    assert!(matches!(err, Error::RowNotFound), "{err:?}");

    // list: keyset pages by name
    let first = users.list(None, 2).await.unwrap();
    assert_eq!(first, [updated.clone(), bob.clone()]);
    let second = users.list(first.last(), 2).await.unwrap();
    assert_eq!(second, std::slice::from_ref(&cy));
    assert!(users.list(second.last(), 2).await.unwrap().is_empty());

    // delete
    assert!(users.delete(bob.id).await.unwrap());
    assert!(!users.delete(bob.id).await.unwrap());
    assert_eq!(users.get_by_id(bob.id).await.unwrap(), None);
    assert_eq!(users.list(None, 10).await.unwrap(), [updated, cy]);
}

async fn user_repository_contract_on_the_pool(ctx: Ctx) {
    users::reset_table(&ctx.db).await.unwrap();
    check_contract(&WeirUsers::new(ctx.db.clone()), false).await;
}

/// The same implementation over a transaction: everything it did is gone after rollback,
/// and the contract holds inside it.
async fn user_repository_inside_a_transaction(ctx: Ctx) {
    users::reset_table(&ctx.db).await.unwrap();
    let tx = ctx.db.begin().await.unwrap();
    check_contract(&WeirUsers::new(&tx), true).await;
    tx.rollback().await.unwrap();
    let n: i64 = ctx
        .db
        .fetch_scalar("SELECT COUNT(*) FROM app_users", ())
        .await
        .unwrap();
    assert_eq!(n, 0);

    let tx = ctx.db.begin().await.unwrap();
    let repo = WeirUsers::new(&tx);
    let kept = repo.create(new("kept", "kept@x.org")).await.unwrap();
    tx.commit().await.unwrap();
    let pool = WeirUsers::new(ctx.db.clone());
    assert_eq!(pool.get_by_id(kept.id).await.unwrap(), Some(kept));
}

/// The example's own walk through the port succeeds on both backends.
async fn example_demo_runs(ctx: Ctx) {
    users::reset_table(&ctx.db).await.unwrap();
    users::demo(&WeirUsers::new(ctx.db.clone())).await.unwrap();
    let n: i64 = ctx
        .db
        .fetch_scalar("SELECT COUNT(*) FROM app_users", ())
        .await
        .unwrap();
    assert_eq!(n, 2, "three created, one deleted");
}
