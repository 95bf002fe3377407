"""A moderator-app instance writing decisions into a store, for the shared-store tests: run as
`python store_writer.py STORE WRITER COUNT`, it records COUNT decisions by moderator WRITER (texts
"WRITER n", n in order) and prints each decision's uid once the store has acknowledged it."""

import sys

from moderator_app.core.review.store import Decision, DecisionStore


def main() -> None:
    location, writer, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = DecisionStore(location)
    for n in range(count):
        saved = store.record(Decision(f"{writer} {n}", "hate", 0.9, "hate" if n % 2 else "not-hate", "m1",
                                      moderator=writer, model_name="/models/m1", queue="shared"))
        print(saved.uid, flush=True)
    store.close()


if __name__ == "__main__":
    main()
