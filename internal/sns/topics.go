package sns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/penstock/penstock/internal/awsapi"
)

// ErrTopicNotFound is what the Go API returns for a missing topic.
var ErrTopicNotFound = errors.New("sns: topic does not exist")

type topic struct {
	Name       string            `json:"name"`
	ARN        string            `json:"arn"`
	Attributes map[string]string `json:"attributes"`
	Tags       map[string]string `json:"tags,omitempty"`
}

type subscription struct {
	ID         string            `json:"id"`
	ARN        string            `json:"arn"`
	TopicArn   string            `json:"topicArn"`
	Protocol   string            `json:"protocol"`
	Endpoint   string            `json:"endpoint"`
	Attributes map[string]string `json:"attributes"`
	Confirmed  bool              `json:"confirmed"`
	Token      string            `json:"token,omitempty"`
}

func (sub *subscription) raw() bool { return sub.Attributes["RawMessageDelivery"] == "true" }

// listedARN is the SubscriptionArn AWS lists: "PendingConfirmation" until confirmed.
func (sub *subscription) listedARN() string {
	if !sub.Confirmed {
		return "PendingConfirmation"
	}
	return sub.ARN
}

var topicNameRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

func (s *Service) topicARN(name string) string {
	return "arn:aws:sns:" + s.o.Region + ":" + s.o.AccountID + ":" + name
}

func (s *Service) loadTopic(ctx context.Context, arn string) (*topic, error) {
	name, ok := topicName(arn)
	if !ok || !topicNameRe.MatchString(name) {
		return nil, errInvalid("Invalid parameter: TopicArn")
	}
	if arn != s.topicARN(name) {
		return nil, errNotFound("Topic does not exist")
	}
	e, err := s.topics.Get(ctx, name)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, errNotFound("Topic does not exist")
	}
	if err != nil {
		return nil, fmt.Errorf("reading topic %s: %w", name, err)
	}
	var t topic
	if err := json.Unmarshal(e.Value(), &t); err != nil {
		return nil, fmt.Errorf("decoding topic %s: %w", name, err)
	}
	return &t, nil
}

func (s *Service) saveTopic(ctx context.Context, t *topic) error {
	b, _ := json.Marshal(t)
	if _, err := s.topics.Put(ctx, t.Name, b); err != nil {
		return fmt.Errorf("saving topic %s: %w", t.Name, err)
	}
	return nil
}

// Subscriptions are keyed <topic name>.<subscription id>, so one topic's
// subscriptions are read with a subject filter, not a scan of them all.
func subKey(topicARN, id string) string {
	name, _ := topicName(topicARN)
	return name + "." + id
}

func (s *Service) allSubs(ctx context.Context) ([]*subscription, error) {
	return s.listSubs(ctx, ">")
}

func (s *Service) topicSubs(ctx context.Context, arn string) ([]*subscription, error) {
	name, ok := topicName(arn)
	if !ok || !topicNameRe.MatchString(name) {
		return nil, errInvalid("Invalid parameter: TopicArn")
	}
	subs, err := s.listSubs(ctx, name+".*")
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(subs, func(sub *subscription) bool { return sub.TopicArn != arn }), nil
}

func (s *Service) listSubs(ctx context.Context, filter string) ([]*subscription, error) {
	lister, err := s.subs.ListKeysFiltered(ctx, filter)
	if err != nil {
		return nil, fmt.Errorf("listing subscriptions: %w", err)
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	_ = lister.Stop()
	var out []*subscription
	for _, k := range keys {
		e, err := s.subs.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading subscription %s: %w", k, err)
		}
		var sub subscription
		if err := json.Unmarshal(e.Value(), &sub); err != nil {
			return nil, fmt.Errorf("decoding subscription %s: %w", k, err)
		}
		out = append(out, &sub)
	}
	slices.SortFunc(out, func(a, b *subscription) int { return strings.Compare(a.ARN, b.ARN) })
	return out, nil
}

func (s *Service) loadSub(ctx context.Context, arn string) (*subscription, error) {
	i := strings.LastIndex(arn, ":")
	if i < 0 || !strings.HasPrefix(arn, "arn:aws:sns:") {
		return nil, errInvalid("Invalid parameter: SubscriptionArn")
	}
	name, ok := topicName(arn[:i])
	if !ok || !topicNameRe.MatchString(name) {
		return nil, errInvalid("Invalid parameter: SubscriptionArn")
	}
	e, err := s.subs.Get(ctx, subKey(arn[:i], arn[i+1:]))
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrInvalidKey) {
		return nil, errNotFound("Subscription does not exist")
	}
	if err != nil {
		return nil, fmt.Errorf("reading subscription: %w", err)
	}
	var sub subscription
	if err := json.Unmarshal(e.Value(), &sub); err != nil {
		return nil, fmt.Errorf("decoding subscription: %w", err)
	}
	return &sub, nil
}

func (s *Service) saveSub(ctx context.Context, sub *subscription) error {
	b, _ := json.Marshal(sub)
	if _, err := s.subs.Put(ctx, subKey(sub.TopicArn, sub.ID), b); err != nil {
		return fmt.Errorf("saving subscription: %w", err)
	}
	return nil
}

type topicArnResult struct {
	TopicArn string `xml:"TopicArn"`
}

func (s *Service) createTopic(r *http.Request, p params) (any, error) {
	name := p.get("Name")
	if strings.HasSuffix(name, ".fifo") || p.entries("Attributes")["FifoTopic"] == "true" {
		return nil, errInvalid("Invalid parameter: penstock does not support FIFO topics")
	}
	if !topicNameRe.MatchString(name) {
		return nil, errInvalid("Invalid parameter: Topic Name")
	}
	ctx := r.Context()
	arn := s.topicARN(name)
	attrs := p.entries("Attributes")
	if old, err := s.loadTopic(ctx, arn); err == nil {
		for k, v := range attrs {
			if old.Attributes[k] != v {
				return nil, errInvalid("Invalid parameter: Attributes Reason: Topic already exists with different attributes")
			}
		}
		return topicArnResult{arn}, nil
	}
	tags := p.tags()
	if err := checkTags(tags); err != nil {
		return nil, err
	}
	t := &topic{Name: name, ARN: arn, Attributes: attrs, Tags: tags}
	if err := s.saveTopic(ctx, t); err != nil {
		return nil, err
	}
	return topicArnResult{arn}, nil
}

func (s *Service) deleteTopic(r *http.Request, p params) (any, error) {
	ctx := r.Context()
	arn := p.get("TopicArn")
	t, err := s.loadTopic(ctx, arn)
	if err != nil {
		if ae := (*awsapi.Error)(nil); errors.As(err, &ae) && ae.Code == "NotFound" {
			return nil, nil // deleting a missing topic is not an error
		}
		return nil, err
	}
	subs, err := s.topicSubs(ctx, arn)
	if err != nil {
		return nil, err
	}
	for _, sub := range subs {
		_ = s.subs.Purge(ctx, subKey(sub.TopicArn, sub.ID))
	}
	if err := s.topics.Purge(ctx, t.Name); err != nil {
		return nil, fmt.Errorf("deleting topic: %w", err)
	}
	return nil, nil
}

type member struct {
	TopicArn string `xml:"TopicArn"`
}

func (s *Service) listTopics(r *http.Request, p params) (any, error) {
	lister, err := s.topics.ListKeys(r.Context())
	if err != nil {
		return nil, fmt.Errorf("listing topics: %w", err)
	}
	var names []string
	for k := range lister.Keys() {
		names = append(names, k)
	}
	_ = lister.Stop()
	slices.Sort(names)
	start := 0
	if tok := p.get("NextToken"); tok != "" {
		start, _ = strconv.Atoi(tok)
	}
	type result struct {
		Topics    []member `xml:"Topics>member"`
		NextToken string   `xml:"NextToken,omitempty"`
	}
	var res result
	res.Topics = []member{}
	for i := start; i < len(names); i++ {
		if len(res.Topics) == 100 {
			res.NextToken = strconv.Itoa(i)
			break
		}
		res.Topics = append(res.Topics, member{s.topicARN(names[i])})
	}
	return res, nil
}

type attrEntry struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

type attrsResult struct {
	Attributes []attrEntry `xml:"Attributes>entry"`
}

func entriesOf(m map[string]string) attrsResult {
	keys := slices.Sorted(maps.Keys(m))
	res := attrsResult{Attributes: []attrEntry{}}
	for _, k := range keys {
		res.Attributes = append(res.Attributes, attrEntry{k, m[k]})
	}
	return res
}

func (s *Service) getTopicAttributes(r *http.Request, p params) (any, error) {
	ctx := r.Context()
	t, err := s.loadTopic(ctx, p.get("TopicArn"))
	if err != nil {
		return nil, err
	}
	subs, err := s.topicSubs(ctx, t.ARN)
	if err != nil {
		return nil, err
	}
	confirmed, pending := 0, 0
	for _, sub := range subs {
		if sub.Confirmed {
			confirmed++
		} else {
			pending++
		}
	}
	attrs := maps.Clone(t.Attributes)
	if attrs == nil {
		attrs = map[string]string{}
	}
	attrs["TopicArn"] = t.ARN
	attrs["Owner"] = s.o.AccountID
	if _, ok := attrs["DisplayName"]; !ok {
		attrs["DisplayName"] = ""
	}
	attrs["SubscriptionsConfirmed"] = strconv.Itoa(confirmed)
	attrs["SubscriptionsPending"] = strconv.Itoa(pending)
	attrs["SubscriptionsDeleted"] = "0"
	if _, ok := attrs["Policy"]; !ok {
		attrs["Policy"] = fmt.Sprintf(`{"Version":"2008-10-17","Id":"__default_policy_ID","Statement":[{"Sid":"__default_statement_ID","Effect":"Allow","Principal":{"AWS":"*"},"Action":["SNS:Publish","SNS:Subscribe","SNS:GetTopicAttributes","SNS:SetTopicAttributes","SNS:DeleteTopic","SNS:ListSubscriptionsByTopic","SNS:AddPermission","SNS:RemovePermission","SNS:Receive"],"Resource":"%s","Condition":{"StringEquals":{"AWS:SourceOwner":"%s"}}}]}`, t.ARN, s.o.AccountID)
	}
	attrs["EffectiveDeliveryPolicy"] = `{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":20,"maxDelayTarget":20,"numRetries":3,"numMaxDelayRetries":0,"numNoDelayRetries":0,"numMinDelayRetries":0,"backoffFunction":"linear"},"disableSubscriptionOverrides":false,"defaultRequestPolicy":{"headerContentType":"text/plain; charset=UTF-8"}}}`
	return entriesOf(attrs), nil
}

var topicSettable = []string{"DisplayName", "Policy", "DeliveryPolicy", "KmsMasterKeyId", "TracingConfig", "SignatureVersion", "ArchivePolicy", "DataProtectionPolicy"}

func (s *Service) setTopicAttributes(r *http.Request, p params) (any, error) {
	ctx := r.Context()
	t, err := s.loadTopic(ctx, p.get("TopicArn"))
	if err != nil {
		return nil, err
	}
	name := p.get("AttributeName")
	if !slices.Contains(topicSettable, name) {
		return nil, errInvalid("Invalid parameter: AttributeName")
	}
	if t.Attributes == nil {
		t.Attributes = map[string]string{}
	}
	t.Attributes[name] = p.get("AttributeValue")
	return nil, s.saveTopic(ctx, t)
}

func (s *Service) subscribe(r *http.Request, p params) (any, error) {
	ctx := r.Context()
	t, err := s.loadTopic(ctx, p.get("TopicArn"))
	if err != nil {
		return nil, err
	}
	proto, endpoint := p.get("Protocol"), p.get("Endpoint")
	switch proto {
	case "sqs":
		if !strings.HasPrefix(endpoint, "arn:aws:sqs:") {
			return nil, errInvalid("Invalid parameter: SQS endpoint ARN")
		}
	case "http", "https":
		if !strings.HasPrefix(endpoint, proto+"://") {
			return nil, errInvalid("Invalid parameter: Endpoint must match the specified protocol")
		}
	case "":
		return nil, errInvalid("Invalid parameter: Protocol")
	default:
		return nil, errInvalid("Invalid parameter: Amazon SNS does not support this protocol string: %s (penstock delivers to sqs, http and https)", proto)
	}
	attrs := p.entries("Attributes")
	for k, v := range attrs {
		if err := checkSubAttr(k, v); err != nil {
			return nil, err
		}
	}
	type result struct {
		SubscriptionArn string `xml:"SubscriptionArn"`
	}
	subs, err := s.topicSubs(ctx, t.ARN)
	if err != nil {
		return nil, err
	}
	for _, sub := range subs {
		if sub.Protocol == proto && sub.Endpoint == endpoint {
			for k, v := range attrs {
				if sub.Attributes[k] != v {
					return nil, errInvalid("Invalid parameter: Attributes Reason: Subscription already exists with different attributes")
				}
			}
			if sub.Confirmed || p.get("ReturnSubscriptionArn") == "true" {
				return result{sub.ARN}, nil
			}
			return result{"pending confirmation"}, nil
		}
	}
	id := uuid.NewString()
	sub := &subscription{ID: id, ARN: t.ARN + ":" + id, TopicArn: t.ARN, Protocol: proto, Endpoint: endpoint,
		Attributes: attrs, Confirmed: proto == "sqs"}
	if !sub.Confirmed {
		sub.Token = strings.ReplaceAll(uuid.NewString()+uuid.NewString(), "-", "")
	}
	if err := s.saveSub(ctx, sub); err != nil {
		return nil, err
	}
	if !sub.Confirmed {
		s.enqueueConfirmation(ctx, s.endpoint(r), sub)
		if p.get("ReturnSubscriptionArn") != "true" {
			return result{"pending confirmation"}, nil
		}
	}
	return result{sub.ARN}, nil
}

func checkSubAttr(k, v string) error {
	switch k {
	case "RawMessageDelivery":
		if v != "true" && v != "false" {
			return errInvalid("Invalid parameter: Attributes Reason: RawMessageDelivery: Invalid value [%s]. Must be true or false.", v)
		}
	case "FilterPolicy":
		if v != "" {
			return checkFilterPolicy(v)
		}
	case "FilterPolicyScope":
		if v != "MessageAttributes" && v != "MessageBody" {
			return errInvalid("Invalid parameter: FilterPolicyScope: Invalid value [%s]. Please use either MessageBody or MessageAttributes", v)
		}
	case "DeliveryPolicy", "RedrivePolicy", "SubscriptionRoleArn":
	default:
		return errInvalid("Invalid parameter: AttributeName")
	}
	return nil
}

func (s *Service) confirmSubscription(r *http.Request, p params) (any, error) {
	ctx := r.Context()
	subs, err := s.topicSubs(ctx, p.get("TopicArn"))
	if err != nil {
		return nil, err
	}
	tok := p.get("Token")
	for _, sub := range subs {
		if sub.Token != "" && sub.Token == tok {
			sub.Confirmed = true
			if err := s.saveSub(ctx, sub); err != nil {
				return nil, err
			}
			return struct {
				SubscriptionArn string `xml:"SubscriptionArn"`
			}{sub.ARN}, nil
		}
	}
	return nil, errInvalid("Invalid token")
}

func (s *Service) unsubscribe(r *http.Request, p params) (any, error) {
	ctx := r.Context()
	sub, err := s.loadSub(ctx, p.get("SubscriptionArn"))
	if err != nil {
		return nil, err
	}
	if err := s.subs.Purge(ctx, subKey(sub.TopicArn, sub.ID)); err != nil {
		return nil, fmt.Errorf("deleting subscription: %w", err)
	}
	return nil, nil
}

type subMember struct {
	SubscriptionArn string `xml:"SubscriptionArn"`
	Owner           string `xml:"Owner"`
	Protocol        string `xml:"Protocol"`
	Endpoint        string `xml:"Endpoint"`
	TopicArn        string `xml:"TopicArn"`
}

type subsResult struct {
	Subscriptions []subMember `xml:"Subscriptions>member"`
	NextToken     string      `xml:"NextToken,omitempty"`
}

func (s *Service) subsPage(subs []*subscription, token string) subsResult {
	start, _ := strconv.Atoi(token)
	res := subsResult{Subscriptions: []subMember{}}
	for i := start; i < len(subs); i++ {
		if len(res.Subscriptions) == 100 {
			res.NextToken = strconv.Itoa(i)
			break
		}
		sub := subs[i]
		res.Subscriptions = append(res.Subscriptions, subMember{sub.listedARN(), s.o.AccountID, sub.Protocol, sub.Endpoint, sub.TopicArn})
	}
	return res
}

func (s *Service) listSubscriptions(r *http.Request, p params) (any, error) {
	subs, err := s.allSubs(r.Context())
	if err != nil {
		return nil, err
	}
	return s.subsPage(subs, p.get("NextToken")), nil
}

func (s *Service) listSubscriptionsByTopic(r *http.Request, p params) (any, error) {
	ctx := r.Context()
	t, err := s.loadTopic(ctx, p.get("TopicArn"))
	if err != nil {
		return nil, err
	}
	subs, err := s.topicSubs(ctx, t.ARN)
	if err != nil {
		return nil, err
	}
	return s.subsPage(subs, p.get("NextToken")), nil
}

func (s *Service) getSubscriptionAttributes(r *http.Request, p params) (any, error) {
	sub, err := s.loadSub(r.Context(), p.get("SubscriptionArn"))
	if err != nil {
		return nil, err
	}
	attrs := maps.Clone(sub.Attributes)
	if attrs == nil {
		attrs = map[string]string{}
	}
	if _, ok := attrs["RawMessageDelivery"]; !ok {
		attrs["RawMessageDelivery"] = "false"
	}
	attrs["SubscriptionArn"] = sub.ARN
	attrs["TopicArn"] = sub.TopicArn
	attrs["Owner"] = s.o.AccountID
	attrs["Protocol"] = sub.Protocol
	attrs["Endpoint"] = sub.Endpoint
	attrs["ConfirmationWasAuthenticated"] = strconv.FormatBool(sub.Protocol == "sqs")
	attrs["PendingConfirmation"] = strconv.FormatBool(!sub.Confirmed)
	return entriesOf(attrs), nil
}

func (s *Service) setSubscriptionAttributes(r *http.Request, p params) (any, error) {
	ctx := r.Context()
	sub, err := s.loadSub(ctx, p.get("SubscriptionArn"))
	if err != nil {
		return nil, err
	}
	k, v := p.get("AttributeName"), p.get("AttributeValue")
	if err := checkSubAttr(k, v); err != nil {
		return nil, err
	}
	if sub.Attributes == nil {
		sub.Attributes = map[string]string{}
	}
	sub.Attributes[k] = v
	return nil, s.saveSub(ctx, sub)
}
