#!/usr/bin/env python3
"""Difference of two detailed massif snapshots (bench/scale/heap.sh): the heap
that appeared between them, as a tree of allocation sites, each with its bytes
in total and per connection.

  massif_diff.py BEFORE AFTER N            # the tree (sites >= 1 % of the total)
  massif_diff.py BEFORE AFTER N --flat     # bytes per connection by site
"""
import re
import sys

NODE = re.compile(r"^( *)n(\d+): (\d+) (.*)$")


def parse(path):
    """{path tuple of frames: bytes} and (heap bytes, extra bytes) of the
    last snapshot in a massif file."""
    text = open(path, encoding="utf-8", errors="replace").read()
    snap = text.split("snapshot=")[-1]
    heap = int(re.search(r"mem_heap_B=(\d+)", snap).group(1))
    extra = int(re.search(r"mem_heap_extra_B=(\d+)", snap).group(1))
    nodes, stack = {}, []
    for line in snap.splitlines():
        m = NODE.match(line)
        if not m:
            continue
        depth, size, what = len(m.group(1)), int(m.group(3)), m.group(4)
        frame = re.sub(r"^0x[0-9A-Fa-f]+: ", "", what)
        frame = re.sub(r" \(in /[^)]*\)$", "", frame)
        del stack[depth:]
        stack.append(frame)
        key = tuple(stack)
        nodes[key] = nodes.get(key, 0) + size
    return nodes, heap, extra


def main():
    before, heap0, extra0 = parse(sys.argv[1])
    after, heap1, extra1 = parse(sys.argv[2])
    n = int(sys.argv[3])
    min_share = 0.01
    total = heap1 - heap0
    print(f"heap: {heap0} -> {heap1} B: +{total} B, {total / n:.0f} B per connection "
          f"(+ malloc block overhead {(extra1 - extra0) / n:.0f} B per connection)")
    diff = {k: after.get(k, 0) - before.get(k, 0) for k in set(before) | set(after)}
    floor = max(1, abs(total) * min_share)
    children = {}
    for key in diff:
        children.setdefault(key[:-1], []).append(key)

    def show(key, depth):
        for child in sorted(children.get(key, []), key=lambda k: -diff[k]):
            if abs(diff[child]) >= floor:
                print(f"{'  ' * depth}{diff[child] / n:8.1f} B/conn  {child[-1][:160]}")
                show(child, depth + 1)

    show((), 0)


if __name__ == "__main__" and not (len(sys.argv) > 4 and sys.argv[4] == "--flat"):
    main()


def flat(before, after, n, depth=3):
    """Per-connection bytes by allocation site: the first `depth` frames of
    each allocation's stack that are outside the standard library's and the
    collections' allocation plumbing."""
    plumbing = re.compile(
        r"^(UnknownInlinedFun|alloc|allocate|alloc_impl\w*|box_new\w*|grow\w*|finish_grow|realloc|"
        r"do_alloc|new_uninitialized|fallible_with_capacity|with_capacity\w*|push\w*|reserve\w*|"
        r"try_reserve\w*|new_in|new|malloc|calloc|exchange_malloc|clone|from|into|to_vec\w*|"
        r"\(heap allocation functions\).*|alloc::\S+|core::\S+|std::\S+|hashbrown::\S+)\b")
    def own(tree):
        kids = {}
        for k, v in tree.items():
            kids[k[:-1]] = kids.get(k[:-1], 0) + v
        return {k: v - kids.get(k, 0) for k, v in tree.items()}
    ob, oa = own(before), own(after)
    sites = {}
    for key in set(ob) | set(oa):
        d = oa.get(key, 0) - ob.get(key, 0)
        if d == 0:
            continue
        frames = [f for f in key[1:] if not plumbing.match(f)]
        label = " <- ".join(f[:90] for f in frames[:depth]) or (key[-1][:90])
        sites[label] = sites.get(label, 0) + d
    for label, d in sorted(sites.items(), key=lambda kv: -kv[1]):
        if abs(d) / n >= 1:
            print(f"{d / n:8.1f} B/conn  {label}")


if __name__ == "__main__" and len(sys.argv) > 4 and sys.argv[4] == "--flat":
    b, _, _ = parse(sys.argv[1])
    a, _, _ = parse(sys.argv[2])
    flat(b, a, int(sys.argv[3]))
