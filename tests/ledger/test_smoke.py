from ledger.demo import build_demo
from ledger.verify import verify


def test_demo_books_verify(factory):
    summary = build_demo(factory, loans=30)
    assert summary.loans == 30
    with factory() as session:
        report = verify(session)
    assert report.problems == []
    assert report.unsealed == 0
