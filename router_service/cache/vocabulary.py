"""English and Spanish word classes for semantic matching (words as `text.words_of` returns them)."""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Function words: they carry the grammar of a question, not what it asks about. "what are your hours" and
# "what are your prices" share three of them and ask different things. Kept per language, since they
# also tell which language a question is in.
ENGLISH_FUNCTION_WORDS = _words(
    """
    a an the and or of to in on at for from by with about into as is are was were be been being am do does
    did doing have has had having get i me my mine you your yours u ur r we us our ours it its they them
    their this that these those there here can could would should will shall may might must just so also
    too very really any some all s t d ll m re ve what whats when where wheres which who whom whose how hows
    why possible able way tell know like want wanted need
    """
)
SPANISH_FUNCTION_WORDS = _words(
    """
    el la los las un una unos unas y o de del al en con por para a que es son esta estan este esto eso ese
    esa mi mis tu tus su sus nuestro nuestra lo le les se me te nos yo usted ustedes hay como cuando donde
    cual cuales quien cuanto cuanta cuantos cuantas puedo puede pueden podria posible saber quiero quisiera
    tienen tiene tengo hacer hacen
    """
)
FUNCTION_WORDS = ENGLISH_FUNCTION_WORDS | SPANISH_FUNCTION_WORDS

# Greetings and courtesy: ignored where a question has other words, kept where it has none ("thanks").
FILLER_WORDS = _words(
    """
    hi hello hey please pls thanks thank thx ok okay good morning afternoon evening
    hola buenas buenos dias tardes noches favor gracias muchas saludos
    """
)

# Words that turn a question into its opposite; two questions must agree on whether they have one.
NEGATION_WORDS = _words(
    """
    not no never none nothing without cannot dont doesnt didnt cant wont isnt arent wasnt werent shouldnt
    nunca nada ninguno ninguna ningun sin jamas tampoco ni
    """
)
