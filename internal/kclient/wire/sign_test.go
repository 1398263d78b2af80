package wire_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/penstock/penstock/internal/kclient/wire"
)

// captured is a request as the server received it.
type captured struct {
	method, host, uri string
	length            int64
	header            http.Header
	body              []byte
}

// captureServer answers the three operations with minimal replies and
// hands every request it receives to the test.
func captureServer(t *testing.T) (*httptest.Server, <-chan captured) {
	reqs := make(chan captured, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("reading a request: %v", err)
		}
		reqs <- captured{r.Method, r.Host, r.RequestURI, r.ContentLength, r.Header.Clone(), body}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		switch r.Header.Get("X-Amz-Target") {
		case "Kinesis_20131202.PutRecords":
			var in struct{ Records []json.RawMessage }
			_ = json.Unmarshal(body, &in)
			out := `{"FailedRecordCount":0,"Records":[` + strings.Repeat(`{"SequenceNumber":"1","ShardId":"shardId-000000000000"},`, len(in.Records))
			_, _ = io.WriteString(w, strings.TrimSuffix(out, ",")+"]}")
		case "Kinesis_20131202.GetShardIterator":
			_, _ = io.WriteString(w, `{"ShardIterator":"it"}`)
		default:
			_, _ = io.WriteString(w, `{"Records":[],"MillisBehindLatest":0,"NextShardIterator":"it"}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, reqs
}

func jsonValue(t *testing.T, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("%q: %v", b, err)
	}
	return v
}

// authorization splits an Authorization header into credential scope
// (without the date), signed headers and signature.
func authorization(t *testing.T, h string) (scope string, signed []string, sig string) {
	t.Helper()
	rest, ok := strings.CutPrefix(h, "AWS4-HMAC-SHA256 ")
	if !ok {
		t.Fatalf("Authorization %q", h)
	}
	for part := range strings.SplitSeq(rest, ", ") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "Credential":
			f := strings.SplitN(v, "/", 3)
			scope = f[0] + "/" + f[2]
		case "SignedHeaders":
			signed = strings.Split(v, ";")
		case "Signature":
			sig = v
		}
	}
	return scope, signed, sig
}

// TestRequestsLikeTheSDK sends the same calls through the SDK and the lean
// client: same target and content type, the same JSON value as body, a
// signature with the same credential scope over a subset of the SDK's
// signed headers, and a signature that the SDK's signer reproduces from
// the received request and the hash of the received body.
func TestRequestsLikeTheSDK(t *testing.T) {
	srv, reqs := captureServer(t)
	const region, key, secret = "eu-west-1", "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	sdk := kinesis.NewFromConfig(aws.Config{
		Region: region, BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, ""),
	})
	w, err := wire.New(wire.Config{Endpoint: srv.URL, Region: region, AccessKey: key, SecretKey: secret})
	if err != nil {
		t.Fatal(err)
	}
	defer w.CloseIdleConnections()
	ctx := t.Context()
	keys := []string{"plain", `quo"te`, `back\slash`, "ctl\x01\x1f\t\n\r", "é😀", "\u2028\u2029", "bad\xffutf8", "<&>/"}
	var sdkEntries []types.PutRecordsRequestEntry
	var wireEntries []wire.Entry
	for i, k := range keys {
		data := bytes.Repeat([]byte{byte(i * 37), 0xfb, 0xff}, i)
		hash := ""
		if i%3 == 0 {
			hash = "12345678901234567890"
		}
		e := types.PutRecordsRequestEntry{PartitionKey: aws.String(k), Data: data}
		if hash != "" {
			e.ExplicitHashKey = aws.String(hash)
		}
		sdkEntries = append(sdkEntries, e)
		wireEntries = append(wireEntries, wire.Entry{PartitionKey: k, ExplicitHashKey: hash, Data: data})
	}
	ts := time.Date(2026, 11, 22, 1, 2, 3, 456789000, time.UTC)
	var put wire.PutRecordsOutput
	var get wire.GetRecordsOutput
	cases := []struct {
		name      string
		sdk, wire func() error
	}{{
		name: "PutRecords",
		sdk: func() error {
			_, err := sdk.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("s/é"), Records: sdkEntries})
			return err
		},
		wire: func() error { return w.PutRecords(ctx, "s/é", wireEntries, &put) },
	}, {
		name: "PutRecords with Data64",
		sdk: func() error {
			_, err := sdk.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("s/é"), Records: sdkEntries})
			return err
		},
		wire: func() error {
			pre := slices.Clone(wireEntries)
			for i := range pre {
				pre[i].Data64 = base64.StdEncoding.AppendEncode(nil, pre[i].Data)
			}
			return w.PutRecords(ctx, "s/é", pre, &put)
		},
	}, {
		name: "GetShardIterator AT_TIMESTAMP",
		sdk: func() error {
			_, err := sdk.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("s"), ShardId: aws.String("shardId-000000000001"),
				ShardIteratorType: types.ShardIteratorTypeAtTimestamp, Timestamp: aws.Time(ts)})
			return err
		},
		wire: func() error {
			_, err := w.GetShardIterator(ctx, wire.IteratorInput{Stream: "s", ShardID: "shardId-000000000001", Type: "AT_TIMESTAMP", Timestamp: ts})
			return err
		},
	}, {
		name: "GetShardIterator AFTER_SEQUENCE_NUMBER",
		sdk: func() error {
			_, err := sdk.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("s"), ShardId: aws.String("shardId-000000000001"),
				ShardIteratorType: types.ShardIteratorTypeAfterSequenceNumber, StartingSequenceNumber: aws.String("4960")})
			return err
		},
		wire: func() error {
			_, err := w.GetShardIterator(ctx, wire.IteratorInput{Stream: "s", ShardID: "shardId-000000000001", Type: "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber: "4960"})
			return err
		},
	}, {
		name: "GetRecords",
		sdk: func() error {
			_, err := sdk.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String("AAAA/+=="), Limit: aws.Int32(250)})
			return err
		},
		wire: func() error { return w.GetRecords(ctx, "AAAA/+==", 250, &get) },
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.sdk(); err != nil {
				t.Fatal(err)
			}
			s := <-reqs
			if err := tc.wire(); err != nil {
				t.Fatal(err)
			}
			l := <-reqs
			for _, h := range []string{"X-Amz-Target", "Content-Type"} {
				if l.header.Get(h) != s.header.Get(h) {
					t.Errorf("%s: %q, the SDK sends %q", h, l.header.Get(h), s.header.Get(h))
				}
			}
			if l.method != s.method || l.uri != s.uri {
				t.Errorf("%s %s, the SDK sends %s %s", l.method, l.uri, s.method, s.uri)
			}
			if got, want := jsonValue(t, l.body), jsonValue(t, s.body); !reflect.DeepEqual(got, want) {
				t.Errorf("body\n%s\nthe SDK sends\n%s", l.body, s.body)
			}
			lScope, lSigned, lSig := authorization(t, l.header.Get("Authorization"))
			sScope, sSigned, _ := authorization(t, s.header.Get("Authorization"))
			if lScope != sScope {
				t.Errorf("credential scope %s, the SDK's %s", lScope, sScope)
			}
			for _, h := range lSigned {
				if !slices.Contains(sSigned, h) {
					t.Errorf("signed header %s, which the SDK does not sign (%v)", h, sSigned)
				}
			}
			if !slices.Contains(lSigned, "x-amz-target") || !slices.Contains(lSigned, "host") {
				t.Errorf("signed headers %v", lSigned)
			}
			// Sign the received request again, over the received body.
			req, err := http.NewRequest(l.method, srv.URL+l.uri, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = l.host
			req.ContentLength = l.length
			for _, h := range lSigned {
				if h != "host" && h != "content-length" {
					req.Header[http.CanonicalHeaderKey(h)] = l.header.Values(h)
				}
			}
			signedAt, err := time.Parse("20060102T150405Z", l.header.Get("X-Amz-Date"))
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(l.body)
			err = v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}, req,
				hex.EncodeToString(sum[:]), "kinesis", region, signedAt)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, sig := authorization(t, req.Header.Get("Authorization")); sig != lSig {
				t.Errorf("signature %s; signing the received request gives %s", lSig, sig)
			}
		})
	}
}
