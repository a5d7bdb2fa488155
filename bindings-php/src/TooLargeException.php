<?php
declare(strict_types=1);

namespace Convtrack;

class TooLargeException extends InputException
{
}
