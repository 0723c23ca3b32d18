from marketplace.problems import flatten_messages


def test_webargs_messages_become_one_list_per_field():
    messages = {"json": {"name": ["Missing data for required field."], "address": {"city": ["Too long."]}}}
    assert flatten_messages(messages) == {
        "name": ["Missing data for required field."],
        "address.city": ["Too long."],
    }


def test_a_body_level_message_is_filed_under_body():
    assert flatten_messages({"json": ["Invalid JSON body."]}) == {"body": ["Invalid JSON body."]}
