"""Measure one text the way each platform counts it, split it into a thread, build
Bluesky facets and tag its links for a campaign. Everything is offline: pure functions.

    python examples/text_platforms.py
"""

from __future__ import annotations

from socialkit.text import add_utm, bluesky_facets, extract_entities, measure, rules, split

# Persian with a ZWNJ (U+200C) inside the hashtag, a link and an emoji sequence.
PERSIAN = "طعم تازهٔ بهاری رسید! #قهوه‌ی_بهاری https://example.com/spring 👨‍👩‍👧"


def show_measurements() -> None:
    print("One text, as each platform counts it:")
    for rule in (rules.X, rules.MASTODON, rules.BLUESKY, rules.THREADS, rules.TELEGRAM):
        m = measure(PERSIAN, rule)
        print(f"  {rule.name:<9} {m.length:>3}/{m.limit} {rule.counting.value:<11} fits={m.fits}")
    # X and Mastodon keep the ZWNJ inside the tag; Bluesky ends the tag there.
    for rule in (rules.X, rules.MASTODON, rules.BLUESKY):
        [tag] = [e for e in extract_entities(PERSIAN, rule) if e.kind == "hashtag"]
        print(f"  hashtag on {rule.name:<8} #{tag.value}  ({len(tag.value)} code points)")


def show_thread() -> None:
    sentence = "این دانه‌ها را هفتهٔ پیش برشته کردیم و طعم گیلاس و کاکائو دارند. "
    long_text = sentence * 8 + "#قهوه"
    parts = split(long_text, rules.BLUESKY, numbering=" {i}/{n}")
    print(f"\nA {measure(long_text, rules.BLUESKY).length}-grapheme text as a Bluesky thread:")
    for part in parts:
        m = measure(part, rules.BLUESKY)
        assert m.fits, part
        print(f"  {m.length:>3}/{m.limit} graphemes, ends with {part[-12:]!r}")


def show_facets() -> None:
    text = "Brewing with @alice.bsky.social #قهوه‌ی_بهاری https://example.com/spring"
    result = bluesky_facets(text)
    print("\nBluesky facets (byte ranges of the UTF-8 text):")
    for facet in result.facets:
        feature = facet["features"][0]
        value = feature.get("tag") or feature.get("uri")
        start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
        print(f"  {feature['$type'].split('#')[1]:<5} [{start}, {end}) {value}")
    for mention in result.mentions:
        print(
            f"  mention [{mention.byte_start}, {mention.byte_end}) @{mention.handle} (to resolve)"
        )
    resolved = result.with_mentions({"alice.bsky.social": "did:plc:ewvi7nxzyoun6zhxrhs64oiz"})
    print(f"  after resolving: {len(resolved)} facets")


def show_utm() -> None:
    text = "Read the story: https://example.com/spring?ref=home#farm."
    tagged = add_utm(text, {"utm_source": "bluesky", "utm_campaign": "spring"})
    print(f"\nUTM tagged:\n  {tagged}")
    # Tag before measuring: on Bluesky a link counts as written, on X it is always 23.
    for rule in (rules.X, rules.BLUESKY):
        before, after = measure(text, rule).length, measure(tagged, rule).length
        print(f"  {rule.name:<8} {before} -> {after}")


def main() -> int:
    show_measurements()
    show_thread()
    show_facets()
    show_utm()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
