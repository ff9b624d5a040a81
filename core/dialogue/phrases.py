"""The phrases PAU recognises, in English and German, compared after `canon` (lower case, no
accents or punctuation, contractions joined, letters stretched for emphasis shortened: "hiii").
Data only; core/dialogue/meaning.py holds the rules that use them, wording.py the splitting."""

from __future__ import annotations

import re

from core.content import normalize


def canon(text: str) -> str:
    """`normalize`, contractions joined again ("don't" -> "dont", "I'm" -> "im") and a letter
    repeated three times or more shortened ("hiii" -> "hi", "byeee" -> "bye")."""
    joined = re.sub(r"\b(\w+) (t|s|m|re|ll|ve|d)\b", r"\1\2", normalize(text))
    return re.sub(r"([a-z])\1{2,}", r"\1", joined)


def _phrases(*texts: str) -> frozenset[str]:
    return frozenset(canon(t) for t in texts)


STOP_WORDS = _phrases(
    "stop", "unsubscribe", "quit", "stopp", "abmelden", "abbestellen", "stop messaging me",
    "stop sending me messages", "no more messages", "keine nachrichten mehr",
)  # fmt: skip
CANCEL_WORDS = _phrases(
    "cancel", "abort", "exit", "stop this", "stop the quiz", "stop the session", "end session",
    "end the session", "not now", "enough for now", "abbrechen", "beenden", "genug", "jetzt nicht",
)  # fmt: skip
SKIP_WORDS = _phrases(
    "skip", "skip it", "skip this", "skip this one", "pass", "next", "next one", "next question",
    "move on", "überspringen", "weiter", "nächste", "nächste frage", "passe", "let me skip this",
    "can i skip", "can i skip this", "skip this question", "skip please", "i want to skip",
    "lass mich überspringen", "skip that",
)  # fmt: skip
DONT_KNOW_WORDS = _phrases(
    "idk", "i don't know", "dont know", "don't know", "no idea", "i have no idea", "not sure",
    "i'm not sure", "no clue", "dunno", "i dunno", "i forgot", "i can't remember", "can't remember",
    "i don't remember", "keine ahnung", "weiß nicht", "ich weiß es nicht", "ich weiß nicht",
    "keinen plan", "vergessen", "hab ich vergessen", "nicht sicher", "bin mir nicht sicher",
    "i give up", "show me the answer", "just tell me", "tell me the answer", "what's the answer",
    "sag es mir", "ich gebe auf", "zeig mir die antwort", "no idea at all",
    "weiß ich nicht", "not a clue", "i have no clue", "no idea sorry", "i really don't know",
)  # fmt: skip
CONTINUE_WORDS = _phrases(
    "continue", "next", "ok", "okay", "done", "got it", "ready", "yes", "go", "k", "let's go",
    "i read it", "read it", "sounds good", "sure", "yep", "cool", "nice", "weiter", "fertig", "ja",
    "los", "gelesen", "alles klar", "verstanden", "hab ich verstanden", "understood",
    "makes sense", "done reading", "read", "continue please", "next please", "passt",
)  # fmt: skip
GREETINGS = _phrases(
    "hi", "hello", "hey", "hey there", "hi there", "hiya", "howdy", "yo", "good morning",
    "good afternoon", "good evening", "morning", "hallo", "hola", "servus", "moin", "guten morgen",
    "guten tag", "guten abend", "grüß dich", "hi pau", "hello pau", "hello there",
    "good morning everyone", "hallo zusammen", "hi all", "hey everyone", "hello everyone",
)  # fmt: skip
THANKS = _phrases(
    "thanks", "thank you", "thx", "ty", "cheers", "thanks a lot", "many thanks",
    "thank you so much", "thanks so much", "much appreciated", "danke", "danke schön",
    "dankeschön", "vielen dank", "merci", "thank u", "thanks for the lesson", "thank you very much",
    "thanks a ton", "cheers mate", "danke dir", "thanks mate", "ty so much",
    "thanks for the help", "thanks for this", "thank you for the lesson", "thank you for this",
    "thanks for that", "danke für die lektion",
)  # fmt: skip
GOODBYES = _phrases(
    "bye", "bye bye", "goodbye", "see you", "see you tomorrow", "see you later", "see ya", "cya",
    "later", "good night", "night", "gotta go", "i have to go", "i'm done", "done for today",
    "that's all for today", "talk later", "talk to you later", "tschüss", "ciao", "bis morgen",
    "bis dann", "bis bald", "bis später", "gute nacht", "auf wiedersehen", "ich muss los",
    "bye for now", "gtg", "got to go", "gotta run", "have to run", "ttyl", "see u", "cu",
    "see u tomorrow", "see u later", "done for now", "that's it for today",
)  # fmt: skip
SMALL_TALK = _phrases(
    "how are you", "how are you doing", "how's it going", "what's up", "sup", "who are you",
    "what are you", "are you a bot", "are you human", "you're great", "you are great",
    "i love this", "that was fun", "this is fun", "that was helpful", "that was great", "cool",
    "nice", "great", "awesome", "lol", "haha", "wow", "ok", "okay", "k", "hmm", "good", "perfect",
    "wie geht's", "wie gehts", "wer bist du", "bist du ein bot", "super", "toll", "cool danke",
    "das war gut", "das hat spaß gemacht", "prima", "interesting", "interessant", "brb", "sorry",
    "sorry late", "sorry for the delay", "sorry i'm late", "one sec", "hold on", "wait",
    "this was helpful", "that was really helpful", "this was really helpful", "gleich zurück",
    "bin gleich zurück", "moment", "nice one", "love it", "omg", "cool cool", "thumbs up",
    "good question", "useful", "helpful", "really useful", "very helpful", "super helpful",
    "good to know", "gut zu wissen", "spannend",
)  # fmt: skip
# "ok", "wait", "sorry": small talk that only asks for patience; a shorter reply fits
ACKS = _phrases(
    "ok", "okay", "k", "cool", "nice", "great", "good", "perfect", "sounds good", "wait",
    "one sec", "one moment", "hold on", "hang on", "brb", "sorry", "moment", "alright", "fine",
    "gleich zurück", "bin gleich zurück", "kurz warten", "passt", "sorry late", "oops", "got it",
)  # fmt: skip
SMALL_TALK = SMALL_TALK | ACKS
# "huh?", "give me a hint": not understood, or asking for what PAU cannot give offline
CONFUSED = _phrases(
    "huh", "what", "wie bitte", "hint", "give me a hint", "hint please", "a hint", "tipp",
    "einen tipp", "i don't get it", "i don't understand", "versteh ich nicht", "hä",
)  # fmt: skip
FILLERS = _phrases(
    "ok", "okay", "oh", "well", "so", "and", "but", "pau", "please", "pls", "plz", "bitte", "great",
    "really", "actually", "honestly", "tbh", "lol", "haha", "just", "very", "um", "uhm", "hmm",
    "also", "und", "aber", "ah", "oh well", "man", "again", "nochmal", "wirklich", "echt", "ugh",
    "hey", "now", "for now",
)  # fmt: skip
QUIZ_REQUESTS = _phrases(
    "quiz me", "test me", "ask me a question", "give me a quiz", "another quiz",
    "another question", "one more question", "a quiz", "quiz please", "frag mich ab",
    "frag mich was", "noch eine frage",
)  # fmt: skip
LESSON_REQUESTS = _phrases(
    "next lesson", "new lesson", "another lesson", "give me a lesson", "teach me something",
    "let's learn", "i want to learn", "one more round", "more", "nächste lektion", "neue lektion",
    "noch eine runde", "weiter lernen", "bring mir was bei",
)  # fmt: skip
LANGUAGE_WORDS = _phrases("lang", "language", "sprache")
QUIET_REQUEST = re.compile(
    r"^\s*/?(?:quiet(?: hours)?|ruhezeit(?:en)?)\b[\s:]*(.*)$", re.IGNORECASE
)
# "quick quiz pls", "gib mir ein quiz", "let's do the next lesson": a short request naming an
# activity, in any order of these words
QUIZ_WORDS = _phrases("quiz", "quizz", "quizzes", "abfragen", "abfrage", "test me")
LESSON_WORDS = _phrases("lesson", "lessons", "lektion", "round", "runde", "einheit")
REQUEST_WORDS = _phrases(
    "next", "new", "another", "more", "nächste", "nächsten", "neue", "neuen", "noch", "start",
    "do", "begin", "one", "give", "want", "let's", "lets", "me", "a", "an", "the", "ein", "eine",
    "einen", "quick", "short", "kurzes", "kurze", "schnelles", "gib", "mach", "machen", "starte",
    "lass", "uns", "mir", "i", "i'd", "like", "can", "we", "time", "for", "zeit", "für", "ready",
    "bereit", "möchte", "will", "gerne", "gern", "please", "pls", "bitte", "now", "jetzt", "up",
    "gimme", "get", "could", "you", "send", "schick", "hast", "du",
)  # fmt: skip
# "can you show my progress", "delete my data": a command word among these
COMMAND_CUES = _phrases(
    "show", "me", "my", "see", "check", "can", "you", "please", "pls", "i", "want", "to", "the",
    "zeig", "zeige", "mir", "meine", "meinen", "mein", "bitte", "open", "view", "get", "data",
    "daten", "account", "konto", "all", "alle", "alles", "kannst", "du", "would", "like", "let",
    "how", "am", "doing", "i'm", "what", "are", "your", "commands", "need",
)  # fmt: skip
STOP_PATTERN = re.compile(
    r"^(please )?(unsubscribe|stop|stopp|abmelden)( me| messaging me| messages| all| everything"
    r"| it| now| bitte| please| pls| plz| mich| stop| stopp)*$"
    r"|^(i want to|i d like to|id like to|i wanna|please|pls|ich will mich|ich mochte mich|bitte)"
    r" (unsubscribe|stop|abmelden)( now| please| pls| bitte)?$"
    r"|^(please )?(stop|quit) (sending|messaging|texting|writing|bothering)( me)?\b"
    r"|^(please )?(dont|do not) (message|text|write|contact) me\b|\bunsubscribe me\b"
    r"|^(hor|hort) auf mir zu schreiben|^keine nachrichten mehr"
)
CANCEL_PATTERN = re.compile(  # matched against each clause of the message
    r"^(i want to |lets |let s |can we |can you |please |gotta run |)"
    r"(quit|stop|end|exit|cancel|leave|abort|close|beende|beenden|abbrechen|stoppe)"
    r"( the| this| das| die| den| dieses| diese)? "
    r"(quiz|quizz|session|lesson|question|round|einheit|lektion|frage|runde|test)"
    r"( please| pls| bitte| now| jetzt)?$"
)
# "false i think", "b probably": the answer before a hedge
ANSWER_LEAD_OUT = re.compile(
    r"\s+(i think|i guess|probably|maybe|ich glaube|glaube ich|oder|but not sure|but im not sure"
    r"|not sure|or not|right|oder nicht|bin mir aber nicht sicher)$"
)
# "I'd say b", "going with b", "ich glaube savings": the answer after a lead-in
ANSWER_LEAD_IN = re.compile(
    r"^(i d say|id say|i would say|i think it s|i think its|i think it is|i think|i guess"
    r"|i choose|i pick|i ll go with|ill go with|i ll take|going with|go with|my answer is"
    r"|the answer is|answer|it s|its|it is|probably|maybe|definitely|ich sage|ich nehme"
    r"|ich glaube|ich denke|ich wurde sagen|wohl|es ist|antwort|hmm|um|is it|could it be"
    r"|would it be|maybe it s|is the answer|ist es|ist das)\s+"
)
HUMAN = re.compile(
    r"\b(real|actual|live) (person|human)\b"
    r"|\b(talk|speak|chat|write) (to|with) (a |an |the )?"
    r"(human|person|someone|somebody|mentor|teacher|tutor|coach|trainer|people|team)\b"
    r"|\b(real|actual|human) (coach|teacher|tutor|mentor|trainer)\b"
    r"|^(a |my )?(human|mentor|person|agent|operator)( please| pls| bitte)?$"
    r"|^(ein )?(mensch|mentor|mentorin)$|\b(echte[nmr]?|richtige[nmr]?) (mensch|menschen|person)\b"
    r"|\bmit (einem|einer|jemandem|der|dem)\b.*\b(sprechen|reden|schreiben)\b"
)
# self-harm or crisis: a fixed safe reply and an urgent escalation, whatever else is open
# (matched on `canon` text: "don't" is "dont")
CRISIS = re.compile(
    r"\b(kill|hurt|harm|cut|cutting|killing|hurting|harming) (myself|my self)\b"
    r"|\bsuicid|\bself ?harm|\bend (my|my own) life\b|\bend it all\b|\btake my (own )?life\b"
    r"|\b(want|wanna|going|ready) to die\b|\bdont want to (live|be alive|be here anymore)\b"
    r"|\bno (reason|point) (to|in) (live|living)\b|\bbetter off dead\b"
    r"|\bselbstmord|\bsuizid|\bmich (umbringen|toten|ritzen|verletzen)\b"
    r"|\bnicht mehr leben\b|\bsterben (will|mochte)\b|\bwill sterben\b"
)
# while an answer in sentences is asked for, "talk to someone" is a request only when asked for
REQUEST = re.compile(
    r"^(i (want|would like|wanna|need)|id like|can i|could i|may i|let me|please|get me|connect me"
    r"|is there|are there|do you have|talk to|speak to|speak with|talk with"
    r"|ich (will|mochte|wurde gern|brauche)|kann ich|gibt es)\b"
)
QUESTION_STARTS = _phrases(
    "what", "why", "how", "when", "where", "who", "which", "can", "could", "is", "are", "does",
    "do", "should", "would", "will", "explain", "tell me", "whats", "was", "warum", "wieso",
    "weshalb", "wie", "wann", "wo", "wer", "welche", "welcher", "welches", "kann", "kannst",
    "könnte", "ist", "sind", "gibt", "erklär", "erkläre",
)  # fmt: skip
ASKING_STARTS = _phrases(
    "can you", "could you", "would you", "please explain", "explain", "tell me", "what does",
    "what is", "what's", "what are", "how do", "how does", "kannst du", "was ist", "was bedeutet",
    "erklär mir", "erkläre mir", "was heißt",
)  # fmt: skip
