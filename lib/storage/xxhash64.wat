;; xxhash64 (seed 0) over bytes in this module's memory, hashed where they
;; lie: the caller reads a file straight into memory and calls `update` on
;; it, so nothing is copied. The compiled bytes are in _xxhash64_wasm.ts,
;; made from this file by `deno task wasm` (tools/build_wasm.ts).
;;
;; Memory (the caller's, imported, shared so that a reader worker can read a
;; file into it while this hashes: hash.ts): the state in bytes 0..96, the
;; caller's input anywhere from byte 96 on.
;;    0  v1 v2 v3 v4   the four lane accumulators (i64 each)
;;   32  total         bytes hashed so far (i64)
;;   40  held          bytes waiting in the stripe buffer (i32, 0..31)
;;   64  stripe        up to 31 bytes of an unfinished 32-byte stripe
;;
;; The algorithm is xxHash's XXH64 (github.com/Cyan4973/xxHash, xxhash.h),
;; with its primes:
;;   P1 0x9E3779B185EBCA87  P2 0xC2B2AE3D27D4EB4F  P3 0x165667B19E3779F9
;;   P4 0x85EBCA77C2B2AE63  P5 0x27D4EB2F165667C5
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; One lane step: rotl(acc + lane * P2, 31) * P1.
  (func $round (param $acc i64) (param $lane i64) (result i64)
    (i64.mul
      (i64.rotl
        (i64.add (local.get $acc) (i64.mul (local.get $lane) (i64.const 0xC2B2AE3D27D4EB4F)))
        (i64.const 31))
      (i64.const 0x9E3779B185EBCA87)))

  ;; Folding an accumulator into the final hash: (h ^ round(0, v)) * P1 + P4.
  (func $merge (param $h i64) (param $v i64) (result i64)
    (i64.add
      (i64.mul
        (i64.xor (local.get $h) (call $round (i64.const 0) (local.get $v)))
        (i64.const 0x9E3779B185EBCA87))
      (i64.const 0x85EBCA77C2B2AE63)))

  ;; Start a new hash.
  (func (export "init")
    (i64.store offset=0 (i32.const 0)
      (i64.add (i64.const 0x9E3779B185EBCA87) (i64.const 0xC2B2AE3D27D4EB4F)))
    (i64.store offset=8 (i32.const 0) (i64.const 0xC2B2AE3D27D4EB4F))
    (i64.store offset=16 (i32.const 0) (i64.const 0))
    (i64.store offset=24 (i32.const 0) (i64.sub (i64.const 0) (i64.const 0x9E3779B185EBCA87)))
    (i64.store offset=32 (i32.const 0) (i64.const 0))
    (i32.store offset=40 (i32.const 0) (i32.const 0)))

  ;; Hash the whole 32-byte stripes of [p, end); returns where they stop.
  ;; The hot loop: the primes sit in locals ($k1, $k2), which V8 keeps in
  ;; registers (with i64.const operands it was 25% slower).
  (func $stripes (param $p i32) (param $end i32) (result i32)
    (local $v1 i64) (local $v2 i64) (local $v3 i64) (local $v4 i64)
    (local $last i32) (local $k1 i64) (local $k2 i64)
    (if (i32.lt_u (i32.sub (local.get $end) (local.get $p)) (i32.const 32))
      (then (return (local.get $p))))
    (local.set $v1 (i64.load offset=0 (i32.const 0)))
    (local.set $v2 (i64.load offset=8 (i32.const 0)))
    (local.set $v3 (i64.load offset=16 (i32.const 0)))
    (local.set $v4 (i64.load offset=24 (i32.const 0)))
    (local.set $last (i32.sub (local.get $end) (i32.const 32)))
    (local.set $k1 (i64.const 0x9E3779B185EBCA87))
    (local.set $k2 (i64.const 0xC2B2AE3D27D4EB4F))
    (loop $stripe
      (local.set $v1 (i64.mul (i64.rotl (i64.add (local.get $v1)
        (i64.mul (i64.load offset=0 (local.get $p)) (local.get $k2)))
        (i64.const 31)) (local.get $k1)))
      (local.set $v2 (i64.mul (i64.rotl (i64.add (local.get $v2)
        (i64.mul (i64.load offset=8 (local.get $p)) (local.get $k2)))
        (i64.const 31)) (local.get $k1)))
      (local.set $v3 (i64.mul (i64.rotl (i64.add (local.get $v3)
        (i64.mul (i64.load offset=16 (local.get $p)) (local.get $k2)))
        (i64.const 31)) (local.get $k1)))
      (local.set $v4 (i64.mul (i64.rotl (i64.add (local.get $v4)
        (i64.mul (i64.load offset=24 (local.get $p)) (local.get $k2)))
        (i64.const 31)) (local.get $k1)))
      (local.set $p (i32.add (local.get $p) (i32.const 32)))
      (br_if $stripe (i32.le_u (local.get $p) (local.get $last))))
    (i64.store offset=0 (i32.const 0) (local.get $v1))
    (i64.store offset=8 (i32.const 0) (local.get $v2))
    (i64.store offset=16 (i32.const 0) (local.get $v3))
    (i64.store offset=24 (i32.const 0) (local.get $v4))
    (local.get $p))

  ;; Hash the n bytes at p (p >= 96), after those already given.
  (func (export "update") (param $p i32) (param $n i32)
    (local $held i32) (local $fill i32) (local $end i32)
    (i64.store offset=32 (i32.const 0)
      (i64.add (i64.load offset=32 (i32.const 0)) (i64.extend_i32_u (local.get $n))))
    (local.set $held (i32.load offset=40 (i32.const 0)))
    ;; Still short of a stripe: keep the bytes.
    (if (i32.lt_u (i32.add (local.get $held) (local.get $n)) (i32.const 32))
      (then
        (memory.copy (i32.add (i32.const 64) (local.get $held)) (local.get $p) (local.get $n))
        (i32.store offset=40 (i32.const 0) (i32.add (local.get $held) (local.get $n)))
        (return)))
    ;; Complete the held stripe first.
    (if (local.get $held)
      (then
        (local.set $fill (i32.sub (i32.const 32) (local.get $held)))
        (memory.copy (i32.add (i32.const 64) (local.get $held)) (local.get $p) (local.get $fill))
        (drop (call $stripes (i32.const 64) (i32.const 96)))
        (local.set $p (i32.add (local.get $p) (local.get $fill)))
        (local.set $n (i32.sub (local.get $n) (local.get $fill)))))
    (local.set $end (i32.add (local.get $p) (local.get $n)))
    (local.set $p (call $stripes (local.get $p) (local.get $end)))
    ;; Keep the tail for the next update or the digest.
    (local.set $held (i32.sub (local.get $end) (local.get $p)))
    (memory.copy (i32.const 64) (local.get $p) (local.get $held))
    (i32.store offset=40 (i32.const 0) (local.get $held)))

  ;; The hash of everything given since `init` (the state is left as it was).
  (func (export "digest") (result i64)
    (local $total i64) (local $h i64) (local $p i32) (local $rest i32)
    (local $v1 i64) (local $v2 i64) (local $v3 i64) (local $v4 i64)
    (local.set $total (i64.load offset=32 (i32.const 0)))
    (local.set $v1 (i64.load offset=0 (i32.const 0)))
    (local.set $v2 (i64.load offset=8 (i32.const 0)))
    (local.set $v3 (i64.load offset=16 (i32.const 0)))
    (local.set $v4 (i64.load offset=24 (i32.const 0)))
    (if (i64.ge_u (local.get $total) (i64.const 32))
      (then
        (local.set $h (i64.add
          (i64.add (i64.rotl (local.get $v1) (i64.const 1)) (i64.rotl (local.get $v2) (i64.const 7)))
          (i64.add (i64.rotl (local.get $v3) (i64.const 12)) (i64.rotl (local.get $v4) (i64.const 18)))))
        (local.set $h (call $merge (local.get $h) (local.get $v1)))
        (local.set $h (call $merge (local.get $h) (local.get $v2)))
        (local.set $h (call $merge (local.get $h) (local.get $v3)))
        (local.set $h (call $merge (local.get $h) (local.get $v4))))
      (else
        ;; seed (v3 is the seed until a stripe is hashed) + P5
        (local.set $h (i64.add (local.get $v3) (i64.const 0x27D4EB2F165667C5)))))
    (local.set $h (i64.add (local.get $h) (local.get $total)))
    (local.set $p (i32.const 64))
    (local.set $rest (i32.load offset=40 (i32.const 0)))
    ;; The held tail: 8 bytes at a time, then 4, then 1.
    (block $done8
      (loop $eight
        (br_if $done8 (i32.lt_u (local.get $rest) (i32.const 8)))
        (local.set $h (i64.add
          (i64.mul
            (i64.rotl
              (i64.xor (local.get $h) (call $round (i64.const 0) (i64.load (local.get $p))))
              (i64.const 27))
            (i64.const 0x9E3779B185EBCA87))
          (i64.const 0x85EBCA77C2B2AE63)))
        (local.set $p (i32.add (local.get $p) (i32.const 8)))
        (local.set $rest (i32.sub (local.get $rest) (i32.const 8)))
        (br $eight)))
    (if (i32.ge_u (local.get $rest) (i32.const 4))
      (then
        (local.set $h (i64.add
          (i64.mul
            (i64.rotl
              (i64.xor (local.get $h)
                (i64.mul (i64.load32_u (local.get $p)) (i64.const 0x9E3779B185EBCA87)))
              (i64.const 23))
            (i64.const 0xC2B2AE3D27D4EB4F))
          (i64.const 0x165667B19E3779F9)))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (local.set $rest (i32.sub (local.get $rest) (i32.const 4)))))
    (block $done1
      (loop $one
        (br_if $done1 (i32.eqz (local.get $rest)))
        (local.set $h (i64.mul
          (i64.rotl
            (i64.xor (local.get $h)
              (i64.mul (i64.load8_u (local.get $p)) (i64.const 0x27D4EB2F165667C5)))
            (i64.const 11))
          (i64.const 0x9E3779B185EBCA87)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $rest (i32.sub (local.get $rest) (i32.const 1)))
        (br $one)))
    ;; Avalanche.
    (local.set $h (i64.mul (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 33)))
      (i64.const 0xC2B2AE3D27D4EB4F)))
    (local.set $h (i64.mul (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 29)))
      (i64.const 0x165667B19E3779F9)))
    (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 32)))))
