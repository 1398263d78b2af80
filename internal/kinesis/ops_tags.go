package kinesis

import (
	"context"
	"regexp"
	"sort"
	"unicode/utf8"
)

const maxTagsPerStream = 50

var (
	reTagKey   = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_./=+\-%@]*$`)
	reTagValue = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_./=+\-%@,:]*$`)
)

func validateTagMap(v *validator, path string, tags map[string]string) {
	if len(tags) < 1 {
		v.add("'{}'", path, "Member must have length greater than or equal to 1")
	}
	if len(tags) > 200 {
		v.add("'{...}'", path, "Member must have length less than or equal to 200")
	}
	for _, k := range sortedKeys(tags) {
		if n := utf8.RuneCountInString(k); n < 1 || n > 128 {
			v.add(quote(k), path+"."+k+".member", "Member must have length less than or equal to 128")
		}
		if utf8.RuneCountInString(tags[k]) > 256 {
			v.add(quote(tags[k]), path+"."+k+".member", "Member must have length less than or equal to 256")
		}
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (s *Service) addTags(ctx context.Context, ref streamRef, tags map[string]string) error {
	m, err := s.lookup(ctx, ref)
	if err != nil {
		return err
	}
	for k, val := range tags {
		if !reTagKey.MatchString(k) {
			return errInvalidArgument("Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - %% @.")
		}
		if !reTagValue.MatchString(val) {
			return errInvalidArgument("Failed to add tags to stream %s under account %s because some tags contained illegal characters. The allowed characters are Unicode letters, white-spaces, '_',',','/','=','+','-','@'.", m.Name, s.o.AccountID)
		}
	}
	_, err = s.reg.update(ctx, m.Name, func(m *streamMeta) error {
		if m.Tags == nil {
			m.Tags = map[string]string{}
		}
		for k, val := range tags {
			m.Tags[k] = val
		}
		if len(m.Tags) > maxTagsPerStream {
			return errorf(codeLimitExceeded, "Failed to add tags to stream %s under account %s because a given stream cannot have more than %d tags associated with it.", m.Name, s.o.AccountID, maxTagsPerStream)
		}
		return nil
	})
	return err
}

func (s *Service) removeTags(ctx context.Context, ref streamRef, keys []string) error {
	m, err := s.lookup(ctx, ref)
	if err != nil {
		return err
	}
	_, err = s.reg.update(ctx, m.Name, func(m *streamMeta) error {
		for _, k := range keys {
			delete(m.Tags, k)
		}
		return nil
	})
	return err
}

func tagList(tags map[string]string, after string, limit int) ([]any, bool) {
	out := []any{}
	for _, k := range sortedKeys(tags) {
		if after != "" && k <= after {
			continue
		}
		if limit > 0 && len(out) == limit {
			return out, true
		}
		out = append(out, map[string]any{"Key": k, "Value": tags[k]})
	}
	return out, false
}

func (s *Service) addTagsToStream(ctx context.Context, r *reader) (any, error) {
	var v validator
	ref := readStreamRef(r, &v)
	tags, ok := r.strMap("Tags")
	if v.required("tags", ok) {
		validateTagMap(&v, "tags", tags)
	}
	if err := check(r, &v); err != nil {
		return nil, err
	}
	return nil, s.addTags(ctx, ref, tags)
}

func validateTagKeys(v *validator, keys []string, ok bool) {
	if v.required("tagKeys", ok) {
		if len(keys) < 1 {
			v.add("'[]'", "tagKeys", "Member must have length greater than or equal to 1")
		}
		if len(keys) > 50 {
			v.add("'[...]'", "tagKeys", "Member must have length less than or equal to 50")
		}
		for i, k := range keys {
			kk := k
			v.str("tagKeys."+itoa(i+1)+".member", &kk, false, 1, 128, nil)
		}
	}
}

func (s *Service) removeTagsFromStream(ctx context.Context, r *reader) (any, error) {
	var v validator
	ref := readStreamRef(r, &v)
	keys, ok := r.strList("TagKeys")
	validateTagKeys(&v, keys, ok)
	if err := check(r, &v); err != nil {
		return nil, err
	}
	return nil, s.removeTags(ctx, ref, keys)
}

func (s *Service) listTagsForStream(ctx context.Context, r *reader) (any, error) {
	var v validator
	ref := readStreamRef(r, &v)
	start := r.str("ExclusiveStartTagKey")
	v.str("exclusiveStartTagKey", start, false, 1, 128, nil)
	limit := r.integer("Limit")
	v.integer("limit", limit, false, i64(1), i64(50))
	if err := check(r, &v); err != nil {
		return nil, err
	}
	m, err := s.lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	after, n := "", 50
	if start != nil {
		after = *start
	}
	if limit != nil {
		n = int(*limit)
	}
	tags, more := tagList(m.Tags, after, n)
	return map[string]any{"Tags": tags, "HasMoreTags": more}, nil
}

// resourceARN reads ResourceARN: a stream or a consumer ARN.
func resourceARN(r *reader, v *validator) *string {
	arn := r.str("ResourceARN")
	v.str("resourceARN", arn, true, 1, 2048, reResourceARN)
	return arn
}

// updateConsumerTags applies fn to a consumer's tags.
func (s *Service) updateConsumerTags(ctx context.Context, arn string, fn func(tags map[string]string) error) error {
	m, c, err := s.findConsumer(ctx, consumerRef{arn: &arn})
	if err != nil {
		return err
	}
	name := c.Name
	_, err = s.reg.update(ctx, m.Name, func(m *streamMeta) error {
		c := m.consumer(name)
		if c == nil {
			return errorf(codeResourceNotFound, "Consumer %s not found.", arn)
		}
		tags := make(map[string]string, len(c.Tags))
		for k, v := range c.Tags {
			tags[k] = v
		}
		if err := fn(tags); err != nil {
			return err
		}
		c.Tags = tags
		return nil
	})
	return err
}

func (s *Service) tagResource(ctx context.Context, r *reader) (any, error) {
	var v validator
	arn := resourceARN(r, &v)
	tags, ok := r.strMap("Tags")
	if v.required("tags", ok) {
		validateTagMap(&v, "tags", tags)
	}
	if err := check(r, &v); err != nil {
		return nil, err
	}
	if consumerARNRe.MatchString(*arn) {
		return nil, s.updateConsumerTags(ctx, *arn, func(cur map[string]string) error {
			for k, val := range tags {
				cur[k] = val
			}
			if len(cur) > maxTagsPerStream {
				return errorf(codeLimitExceeded, "A resource cannot have more than %d tags associated with it.", maxTagsPerStream)
			}
			return nil
		})
	}
	return nil, s.addTags(ctx, streamRef{arn: arn}, tags)
}

func (s *Service) untagResource(ctx context.Context, r *reader) (any, error) {
	var v validator
	arn := resourceARN(r, &v)
	keys, ok := r.strList("TagKeys")
	validateTagKeys(&v, keys, ok)
	if err := check(r, &v); err != nil {
		return nil, err
	}
	if consumerARNRe.MatchString(*arn) {
		return nil, s.updateConsumerTags(ctx, *arn, func(cur map[string]string) error {
			for _, k := range keys {
				delete(cur, k)
			}
			return nil
		})
	}
	return nil, s.removeTags(ctx, streamRef{arn: arn}, keys)
}

func (s *Service) listTagsForResource(ctx context.Context, r *reader) (any, error) {
	var v validator
	arn := resourceARN(r, &v)
	if err := check(r, &v); err != nil {
		return nil, err
	}
	var tags map[string]string
	if consumerARNRe.MatchString(*arn) {
		_, c, err := s.findConsumer(ctx, consumerRef{arn: arn})
		if err != nil {
			return nil, err
		}
		tags = c.Tags
	} else {
		m, err := s.lookup(ctx, streamRef{arn: arn})
		if err != nil {
			return nil, err
		}
		tags = m.Tags
	}
	list, _ := tagList(tags, "", 0)
	return map[string]any{"Tags": list}, nil
}
