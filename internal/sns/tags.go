package sns

import (
	"fmt"
	"net/http"
	"slices"
)

// Topic tags: CreateTopic Tags.member.N.Key/Value, TagResource,
// UntagResource, ListTagsForResource (topics only).

func (p params) tags() map[string]string {
	out := map[string]string{}
	for i := 1; ; i++ {
		k := p.get(fmt.Sprintf("Tags.member.%d.Key", i))
		if k == "" {
			return out
		}
		out[k] = p.get(fmt.Sprintf("Tags.member.%d.Value", i))
	}
}

func checkTags(tags map[string]string) error {
	if len(tags) > 50 {
		return errInvalid("Invalid parameter: Tags: at most 50 tags")
	}
	for k, v := range tags {
		if k == "" || len(k) > 128 || len(v) > 256 {
			return errInvalid("Invalid parameter: Tags: keys are 1 to 128 characters, values at most 256")
		}
	}
	return nil
}

func (s *Service) tagResource(r *http.Request, p params) (any, error) {
	ctx := r.Context()
	t, err := s.loadTopic(ctx, p.get("ResourceArn"))
	if err != nil {
		return nil, err
	}
	tags := p.tags()
	if err := checkTags(tags); err != nil {
		return nil, err
	}
	if t.Tags == nil {
		t.Tags = map[string]string{}
	}
	for k, v := range tags {
		t.Tags[k] = v
	}
	return struct{}{}, s.saveTopic(ctx, t) // an empty TagResourceResult, as AWS sends
}

func (s *Service) untagResource(r *http.Request, p params) (any, error) {
	ctx := r.Context()
	t, err := s.loadTopic(ctx, p.get("ResourceArn"))
	if err != nil {
		return nil, err
	}
	for i := 1; ; i++ {
		k := p.get(fmt.Sprintf("TagKeys.member.%d", i))
		if k == "" {
			break
		}
		delete(t.Tags, k)
	}
	return struct{}{}, s.saveTopic(ctx, t) // an empty UntagResourceResult
}

func (s *Service) listTagsForResource(r *http.Request, p params) (any, error) {
	t, err := s.loadTopic(r.Context(), p.get("ResourceArn"))
	if err != nil {
		return nil, err
	}
	type tag struct {
		Key   string `xml:"Key"`
		Value string `xml:"Value"`
	}
	res := struct {
		Tags []tag `xml:"Tags>member"`
	}{Tags: []tag{}}
	keys := make([]string, 0, len(t.Tags))
	for k := range t.Tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		res.Tags = append(res.Tags, tag{k, t.Tags[k]})
	}
	return res, nil
}
