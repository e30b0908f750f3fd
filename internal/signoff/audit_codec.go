package signoff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"

	jsonv2 "github.com/go-json-experiment/json"
)

// EventBody is the typed before and after of one kind of event: one of the
// *…Event types of audit_deployment.go and audit_system.go.
type EventBody interface {
	// Action is the action the body records.
	Action() string
	// sides points at the body's before and after (nil for a side its
	// kind never records; a pointer to a nil pointer for an optional side
	// that is absent).
	sides() (before, after any)
}

// NewChange is the change a store method records: the body's action and
// sides, on the target.
func NewChange(actor EventActor, target Target, body EventBody) Change {
	before, after := body.sides()
	return Change{Actor: actor, Action: body.Action(), Target: target.String(),
		Before: present(before), After: present(after)}
}

// present is a side to write, or nil when there is none to write.
func present(side any) any {
	if side == nil {
		return nil
	}
	if v := reflect.ValueOf(side).Elem(); v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		return v.Interface()
	}
	return side
}

// EncodePayload writes an event's payload: p with before and after (nil
// for none). This is the one writer of the bytes the chain hashes, and
// their format is fixed for ever: Go's encoding/json (v1), which sorts map
// keys, escapes <, > and & in strings, and writes a struct's fields in
// their declared order. Old events were written from maps, so the payload
// types declare their fields in key order; never change this encoder or
// those orders, or new events stop matching old ones and readers of the
// old ones.
func EncodePayload(p EventPayload, before, after any) ([]byte, error) {
	var err error
	if p.Before, err = marshalSide(before); err != nil {
		return nil, fmt.Errorf("encode %s before: %w", p.Action, err)
	}
	if p.After, err = marshalSide(after); err != nil {
		return nil, fmt.Errorf("encode %s after: %w", p.Action, err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode %s payload: %w", p.Action, err)
	}
	return b, nil
}

func marshalSide(v any) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	return json.Marshal(v)
}

// DecodedEvent is an event's payload read back: the envelope as written
// (Before and After still raw, byte for byte), the target parsed, and the
// body typed.
type DecodedEvent struct {
	EventPayload
	Target Target // shadows EventPayload.Target, the string it was parsed from
	Body   EventBody
}

// strict is how payloads are read: go-json-experiment/json (the future
// encoding/json/v2) matches names case-sensitively and refuses duplicate
// names and invalid UTF-8 by default; unknown names are refused too.
// encoding/json v1 would accept "Value" for "value", a key given twice
// (the last wins) and bad UTF-8 (replaced), so two readers could see two
// different events in the same hashed bytes.
var strict = jsonv2.RejectUnknownMembers(true)

// DecodeEnvelope reads a payload's envelope strictly, leaving before and
// after raw (each still a well-formed JSON value). It is for readers that
// need only who, when, what and on what, even of an event whose body they
// could not read.
func DecodeEnvelope(payload []byte) (EventPayload, error) {
	var p EventPayload
	if err := jsonv2.Unmarshal(payload, &p, strict); err != nil {
		return p, fmt.Errorf("payload: %w", err)
	}
	return p, nil
}

// DecodeEvent reads a payload strictly: its envelope, its target, and its
// body as the type of its action. Beyond what the JSON decoder refuses (an
// unknown, duplicated or differently-cased key, a wrong type, invalid
// UTF-8), the payload must be exactly what EncodePayload writes for what
// was read: a missing key, a null, a reordered key or a space fails. So
// what a reader understands is all there is in the hashed bytes, and every
// reader understands the same.
func DecodeEvent(payload []byte) (*DecodedEvent, error) {
	env, err := DecodeEnvelope(payload)
	if err != nil {
		return nil, err
	}
	candidates, ok := bodies[env.Action]
	if !ok {
		return nil, fmt.Errorf("payload: unknown action %q", env.Action)
	}
	t, err := ParseTarget(env.Target)
	if err != nil {
		return nil, fmt.Errorf("%s payload: %w", env.Action, err)
	}
	var first error
	for _, k := range candidates {
		body := k.new()
		err := decodeBody(payload, env, t, k.target, body)
		if err == nil {
			return &DecodedEvent{EventPayload: env, Target: t, Body: body}, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, fmt.Errorf("%s payload: %w", env.Action, first)
}

func decodeBody(payload []byte, env EventPayload, t Target, want TargetKind, body EventBody) error {
	if t.Kind != want {
		return fmt.Errorf("target %s is not a %s", t, want)
	}
	before, after := body.sides()
	if err := decodeSide("before", env.Before, before); err != nil {
		return err
	}
	if err := decodeSide("after", env.After, after); err != nil {
		return err
	}
	if a := body.Action(); a != env.Action {
		return fmt.Errorf("its after is that of %s", a)
	}
	again, err := EncodePayload(env, present(before), present(after))
	if err != nil {
		return err
	}
	if !bytes.Equal(again, payload) {
		i := 0
		for i < len(again) && i < len(payload) && again[i] == payload[i] {
			i++
		}
		return fmt.Errorf("not as Signoff writes it: at byte %d it has %q where Signoff writes %q (a key missing, null or out of order?)",
			i, excerpt(payload, i), excerpt(again, i))
	}
	return nil
}

func decodeSide(name string, raw json.RawMessage, dst any) error {
	switch {
	case raw == nil:
		return nil // absent: the comparison with what Signoff writes tells whether it may be
	case dst == nil:
		return fmt.Errorf("it has a %s, which this kind of event never has", name)
	}
	if err := jsonv2.Unmarshal(raw, dst, strict); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func excerpt(b []byte, i int) string {
	return string(b[i:min(len(b), i+24)])
}

// kind is one shape an action's payload can take: its body type and the
// kind of target it names.
type kind struct {
	target TargetKind
	new    func() EventBody
}

func kindOf[T any, P interface {
	*T
	EventBody
}](target TargetKind) kind {
	return kind{target: target, new: func() EventBody { return P(new(T)) }}
}

// bodies lists, by action, the shapes its payloads take (tried in order;
// at most one fits a payload, since each is held to what it writes).
// deployment.lock is not here: nothing records it (the final approval's
// signoff.sign locks the deployment), so a payload claiming it is refused.
var bodies = map[string][]kind{
	ActDeploymentCreate: {kindOf[DeploymentCreateEvent](TargetDeployment)},
	ActDeploymentStatus: {kindOf[DeploymentStatusEvent](TargetDeployment)},
	ActItemState:        {kindOf[ItemStateEvent](TargetItem)},
	ActItemComment:      {kindOf[ItemCommentEvent](TargetItem)},
	ActItemEvidence:     {kindOf[ItemEvidenceEvent](TargetItem)},
	ActItemFile:         {kindOf[ItemFileEvent](TargetItem)},
	ActItemAssign:       {kindOf[ItemAssignEvent](TargetItem), kindOf[ItemAssignEvent](TargetSection)},
	ActNoteEdit:         {kindOf[NoteEditEvent](TargetNote)},
	ActSignoffSign:      {kindOf[SignoffSignEvent](TargetSlot)},
	ActSignoffRevoke:    {kindOf[SignoffRevokeEvent](TargetSlot)},
	ActSignoffReject:    {kindOf[SignoffRejectEvent](TargetSlot)},
	ActSignoffWithdraw:  {kindOf[SignoffWithdrawEvent](TargetSlot)},

	ActUserCreate: {kindOf[UserCreateEvent](TargetUser), kindOf[SetupAdminEvent](TargetUser), kindOf[SSOCreateEvent](TargetUser)},
	ActUserUpdate: {kindOf[UserPermissionsEvent](TargetUser), kindOf[UserPasswordEvent](TargetUser), kindOf[UserInvitationEvent](TargetUser),
		kindOf[UserResetEvent](TargetUser), kindOf[SSOLinkEvent](TargetUser)},
	ActUserSync:         {kindOf[UserSyncEvent](TargetUser)},
	ActSessionEnd:       {kindOf[SessionEndEvent](TargetUser)},
	ActPasskeyRegister:  {kindOf[PasskeyRegisterEvent](TargetUser)},
	ActPasskeyRemove:    {kindOf[PasskeyRemoveEvent](TargetUser)},
	ActUserDeactivate:   {kindOf[UserActiveEvent](TargetUser)},
	ActUserActivate:     {kindOf[UserActiveEvent](TargetUser)},
	ActRoleCreate:       {kindOf[RoleCreateEvent](TargetRole)},
	ActRoleGrant:        {kindOf[RoleGrantEvent](TargetUser)},
	ActRoleWithdraw:     {kindOf[RoleWithdrawEvent](TargetUser)},
	ActTemplateImport:   {kindOf[TemplateImportEvent](TargetTemplate)},
	ActTemplateSettings: {kindOf[TemplateSettingsEvent](TargetTemplate)},
	ActTokenCreate:      {kindOf[TokenCreateEvent](TargetToken)},
	ActTokenRevoke:      {kindOf[TokenRevokeEvent](TargetToken)},
	ActWebhookCreate:    {kindOf[WebhookCreateEvent](TargetWebhook)},
	ActWebhookDelete:    {kindOf[WebhookDeleteEvent](TargetWebhook)},
}
