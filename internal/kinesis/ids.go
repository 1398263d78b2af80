package kinesis

import (
	"crypto/md5"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
)

// Sequence numbers are 56 decimal digits:
//
//	"49" | shard index (10 digits) | storage seq (20 digits) | 24 zeros
//
// Within a shard the index is constant, so comparing two sequence numbers as
// big integers (or as strings: the length is fixed) compares storage seqs.
// Different shards have different indexes, so numbers are unique in a stream.
// seq 0 is below every record (storage seqs start at 1) and is used as a
// shard's StartingSequenceNumber.
const (
	seqPrefix  = "49"
	seqDigits  = 56
	seqPadding = "000000000000000000000000"
)

// SequenceNumber encodes a shard index and a storage sequence.
func SequenceNumber(shardIndex int, seq uint64) string {
	if shardIndex >= 0 {
		var b [seqDigits + 8]byte
		return string(appendSequenceNumber(b[:0], shardIndex, seq))
	}
	return fmt.Sprintf("%s%010d%020d%s", seqPrefix, shardIndex, seq, seqPadding)
}

var errBadSequenceNumber = errors.New("kinesis: malformed sequence number")

// ParseSequenceNumber is the inverse of SequenceNumber.
func ParseSequenceNumber(sn string) (shardIndex int, seq uint64, err error) {
	if len(sn) != seqDigits || !strings.HasPrefix(sn, seqPrefix) || !strings.HasSuffix(sn, seqPadding) {
		return 0, 0, fmt.Errorf("%w: %q", errBadSequenceNumber, sn)
	}
	idx, err := strconv.ParseUint(sn[2:12], 10, 31)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %q", errBadSequenceNumber, sn)
	}
	seq, err = strconv.ParseUint(sn[12:32], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %q", errBadSequenceNumber, sn)
	}
	return int(idx), seq, nil
}

// shardID names the shard with this index: shardId-000000000000.
func shardID(index int) string {
	if index >= 0 {
		var b [32]byte
		return string(appendShardID(b[:0], index))
	}
	return fmt.Sprintf("shardId-%012d", index)
}

var errBadShardID = errors.New("kinesis: malformed shard id")

// ShardIndex parses a shard id leniently, as AWS does: "shardId-000000000001",
// "shardId-1", "1" and any "prefix-1" all name shard 1. Indexes above
// 2^31-1 or non-numeric ids are errors.
func ShardIndex(id string) (int, error) {
	s := id
	if i := strings.LastIndexByte(s, '-'); i >= 0 {
		s = s[i+1:]
	}
	if s == "" {
		return 0, fmt.Errorf("%w: %q", errBadShardID, id)
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: %q", errBadShardID, id)
		}
	}
	s = strings.TrimLeft(s, "0")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 31)
	if err != nil {
		return 0, fmt.Errorf("%w: %q", errBadShardID, id)
	}
	return int(n), nil
}

// StreamARN is the ARN of a stream.
func StreamARN(region, account, name string) string {
	return "arn:aws:kinesis:" + region + ":" + account + ":stream/" + name
}

var streamARNRe = regexp.MustCompile(`^arn:aws[a-z-]*:kinesis:([a-z0-9-]+):(\d{12}):stream/([a-zA-Z0-9_.-]+)$`)

// ParseStreamARN splits a stream ARN into region, account and stream name.
func ParseStreamARN(arn string) (region, account, name string, err error) {
	m := streamARNRe.FindStringSubmatch(arn)
	if m == nil {
		return "", "", "", fmt.Errorf("kinesis: not a stream ARN: %q", arn)
	}
	return m[1], m[2], m[3], nil
}

// Hash keys are unsigned 128-bit integers written in decimal.
var (
	maxHashKey = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))
	hashSpace  = new(big.Int).Lsh(big.NewInt(1), 128)
)

// hashOf returns MD5(partitionKey) as a big-endian unsigned 128-bit integer.
func hashOf(partitionKey string) *big.Int {
	sum := md5.Sum([]byte(partitionKey))
	return new(big.Int).SetBytes(sum[:])
}

// parseHashKey parses a decimal hash key in [0, 2^128-1].
func parseHashKey(s string) (*big.Int, bool) {
	n, ok := new(big.Int).SetString(s, 10)
	if !ok || n.Sign() < 0 || n.Cmp(maxHashKey) > 0 {
		return nil, false
	}
	return n, true
}

// uniformRanges splits the hash space into n ranges the way kinesalite (and,
// for every n verified, AWS) does: shard i starts at i*floor(2^128/n), the
// last ends at 2^128-1.
func uniformRanges(n int) [][2]*big.Int {
	step := new(big.Int).Div(hashSpace, big.NewInt(int64(n)))
	out := make([][2]*big.Int, n)
	for i := range n {
		start := new(big.Int).Mul(step, big.NewInt(int64(i)))
		end := new(big.Int).Sub(new(big.Int).Mul(step, big.NewInt(int64(i+1))), big.NewInt(1))
		if i == n-1 {
			end = new(big.Int).Set(maxHashKey)
		}
		out[i] = [2]*big.Int{start, end}
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }
