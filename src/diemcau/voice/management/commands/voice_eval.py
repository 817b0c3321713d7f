import json

from django.core.management.base import BaseCommand, CommandError

from diemcau.voice import evaluation


class Command(BaseCommand):
    help = ("Evaluate the voice engine on a labelled file (tab-separated UTF-8, header 'id topic dup_group text'; "
            "items sharing a non-empty dup_group say the same thing). Prints one JSON line: dup_precision, "
            "dup_recall, dup_f1, polarity_merges, topic_accuracy, and the same figures for a TF-IDF baseline "
            "(baseline_*). The bundled held-out set is src/diemcau/voice/data/eval_heldout.tsv.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="the labelled .tsv file")
        parser.add_argument("--no-topics", action="store_true", help="skip the topic cross-validation")

    def handle(self, *args, **options):
        # Reads a file and computes figures: no database, no scope needed.
        try:
            items = evaluation.read_labelled(options["file"])
        except evaluation.EvalFileError as exc:
            raise CommandError(str(exc)) from None
        figures = evaluation.evaluate(items, topics=not options["no_topics"])
        self.stdout.write(json.dumps(figures, ensure_ascii=False))
