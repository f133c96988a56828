"""Everything residents read on their pages, in one place ready for translation.

A translation is another ``PageTexts(...)`` with every string given in that language; the
templates read only ``t.<name>`` (``{name}`` placeholders are filled with ``.format``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageTexts:
    lang: str = "en"
    service: str = "Doorstep"

    # The response page (/r/<token>).
    respond_title: str = "{campaign} - have your say"
    respond_intro: str = "{organisation} asks for your views. It takes a few minutes."
    required_note: str = 'Questions marked "required" need an answer. Everything else is optional.'
    required: str = "required"
    optional: str = "optional"
    scale_hint: str = "1 means not at all, 5 means very much."
    scale_labels: tuple[str, ...] = ("1", "2", "3", "4", "5")
    yes: str = "Yes"
    no: str = "No"
    multi_hint: str = "Choose all that apply."
    rating_legend: str = (
        "How likely are you to recommend getting involved to a neighbour? "
        "0 means not at all likely, 10 means extremely likely."
    )
    comment_label: str = "Anything else you would like to tell us?"
    consent_heading: str = "What may we do with your details?"
    consent_intro: str = (
        "You can answer without giving any details. Tick only what you are happy with."
    )
    store_details_label: str = (
        "Keep my name and contact details with my answers (so I can see, change or delete them)"
    )
    contact_again_label: str = "You may contact me again about this or other campaigns"
    hear_back_label: str = "Tell me what came of this campaign"
    contact_heading: str = "Your details (optional)"
    contact_intro: str = "We keep these only if you tick the first box above."
    name_label: str = "Your name"
    email_label: str = "Email address"
    phone_label: str = "Phone number"
    postcode_label: str = "Postcode"
    privacy_heading: str = "How we use your information"
    submit: str = "Send my answers"

    # Errors on the response page.
    error_title_prefix: str = "Error: "
    error_summary: str = "There is a problem"
    answer_required: str = "Answer this question."
    questions_changed: str = (
        "The questions changed while you were answering. Check your answers and send them again."
    )
    form_refused_title: str = "This form could not be sent"
    form_refused: str = (
        "For your safety this form was refused. Open the link again and send the form from there."
    )

    # After responding.
    thanks_title: str = "Thank you"
    thanks_body: str = "Your answers have been sent to {organisation}."
    thanks_manage: str = "Keep this link to see, stop or delete what we hold about you at any time:"
    thanks_nothing_kept: str = (
        "You did not ask us to keep your details, so nothing that identifies you was kept."
    )
    closed_title: str = "This campaign has closed"
    closed_body: str = "Answers are no longer being collected. Thank you for your interest."
    already_title: str = "You have already answered"
    already_body: str = "This link has already been used to answer. Thank you for taking part."

    # Links that do not work.
    expired_title: str = "This link has expired"
    expired_body: str = (
        "This link does not work any more. It may have expired or been typed wrongly. "
        "If you were given it on paper, check each letter, or ask the organisation for a new one."
    )
    limited_title: str = "Too many requests"
    limited_body: str = "Please wait a minute and try again."

    # The manage page (/m/<token>).
    manage_title: str = "Your information"
    manage_intro: str = "This is everything we hold about you."
    details_heading: str = "Your details"
    not_given: str = "not given"
    consent_now_heading: str = "What you agreed to"
    consent_recorded: str = "Last changed: {when}"
    agreed: str = "yes"
    not_agreed: str = "no"
    responses_heading: str = "Your answers"
    no_responses: str = "You have not answered any campaign."
    submitted_on: str = "Sent on {when}"
    answers_label: str = "Your answers to the questions"
    your_rating: str = "Your rating (0 to 10)"
    your_comment: str = "Your comment"
    notes_label: str = "What the organiser noted"
    conversations_heading: str = "Conversations you were part of"
    no_conversations: str = "No one has recorded a conversation with you."
    conversation_on: str = "{campaign}, {when}"
    stop_heading: str = "Stop all contact"
    stop_body: str = "We will not contact you again and will not tell you about results."
    stop_button: str = "Stop all contact"
    stopped_notice: str = "Done: we will not contact you again."
    erase_heading: str = "Erase my data"
    erase_body: str = (
        "We delete your name, contact details and anything you wrote. Your answers stay only "
        "as anonymous numbers."
    )
    erase_link: str = "Erase my data"
    erase_confirm_title: str = "Erase your data?"
    erase_confirm_body: str = (
        "This cannot be undone. Afterwards this link will stop working and we cannot tell you "
        "about results."
    )
    erase_confirm_label: str = "I understand, erase everything that identifies me"
    erase_confirm_required: str = "Tick the box to confirm."
    erase_confirm_button: str = "Yes, erase my data"
    erase_cancel: str = "No, go back"
    erased_title: str = "Your data has been erased"
    erased_body: str = "We no longer hold anything that identifies you. This link no longer works."

    def f(self, name: str, **values: object) -> str:
        text: str = getattr(self, name)
        return text.format(**values)


# The resident pages' English texts (other parts of texts.py may hold other texts).
PAGE_TEXTS = PageTexts()


# --- the privacy notice (shown with the questions unless the organisation wrote its own) ---


def standard_privacy_notice(organisation: str) -> str:
    """The notice shown when the organisation has not written its own
    (ResidentSettings.privacy_notice)."""
    return (
        f"{organisation} asks these questions to learn what matters to people here. "
        "Your answers are kept without your name unless you agree to store your details. "
        "If you do, we keep only what you give us, use it only for what you agreed to "
        "(to contact you again, or to tell you what came of this), and you can see, stop "
        "or erase it at any time with the link you get after answering."
    )
